/**
 * Sessions and their refresh tokens. A refresh token is opaque (256 random bits), stored as
 * SHA-256 and rotated on every use; presenting a spent one means it was copied, so the
 * whole session is revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { refreshTokens, sessions, users } from '../../db/schema/auth.ts';
import { UnauthenticatedError } from '../../errors.ts';
import type { AuditLog } from './audit.ts';
import { newRefreshToken, sha256, type Role, type TokenIssuer } from './tokens.ts';

export type SessionRow = typeof sessions.$inferSelect;

/** What a client gets after signing in, verifying or refreshing. */
export interface Tokens {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  /** Null before the second step (and after a step-up, where the current one stays valid). */
  readonly refreshToken: string | null;
  readonly secondFactorAt: Date | null;
}

export interface SessionOptions {
  readonly sessionTtlDays: number;
  readonly now: () => Date;
}

export function createSessions(db: NodePgDatabase, tokens: TokenIssuer, audit: AuditLog, options: SessionOptions) {
  const { now } = options;

  async function newRefresh(sessionId: string): Promise<string> {
    const token = newRefreshToken();
    await db.insert(refreshTokens).values({ sessionId, tokenHash: sha256(token), createdAt: now() });
    return token;
  }

  async function revoke(sessionId: string, reason: string): Promise<void> {
    await db
      .update(sessions)
      .set({ revokedAt: now(), revokedReason: reason })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
  }

  return {
    async create(userId: string, ip: string, deviceId: string, secondFactorAt: Date | null): Promise<SessionRow> {
      const at = now();
      const [row] = await db
        .insert(sessions)
        .values({ userId, ip, deviceId, secondFactorAt, createdAt: at, expiresAt: new Date(at.getTime() + options.sessionTtlDays * 86_400_000) })
        .returning();
      return row!;
    },

    /** An access token for the session, and a refresh token when `withRefresh`. */
    async issue(session: SessionRow, role: Role, withRefresh: boolean): Promise<Tokens> {
      const access = await tokens.issueAccessToken({
        userId: session.userId,
        role,
        sessionId: session.id,
        secondFactorAt: session.secondFactorAt,
      });
      return {
        accessToken: access.token,
        accessTokenExpiresAt: access.expiresAt,
        refreshToken: withRefresh ? await newRefresh(session.id) : null,
        secondFactorAt: session.secondFactorAt,
      };
    },

    async markSecondFactor(sessionId: string, at: Date): Promise<SessionRow> {
      const [row] = await db.update(sessions).set({ secondFactorAt: at }).where(eq(sessions.id, sessionId)).returning();
      return row!;
    },

    /** Whether the session may still be used: not revoked, not expired, its user not disabled. */
    async isActive(sessionId: string): Promise<boolean> {
      const [row] = await db
        .select({ revokedAt: sessions.revokedAt, expiresAt: sessions.expiresAt, disabled: users.disabled })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(sessions.id, sessionId))
        .limit(1);
      return row !== undefined && row.revokedAt === null && !row.disabled && row.expiresAt.getTime() > now().getTime();
    },

    /** Spends `refreshToken` and returns fresh tokens; a reused one revokes its session. */
    async refresh(refreshToken: string, ip: string): Promise<Tokens> {
      const hash = sha256(refreshToken);
      const [spent] = await db
        .update(refreshTokens)
        .set({ spentAt: now() })
        .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.spentAt)))
        .returning({ sessionId: refreshTokens.sessionId });
      if (!spent) {
        const [reused] = await db.select({ sessionId: refreshTokens.sessionId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).limit(1);
        if (reused) {
          const [s] = await db.select().from(sessions).where(eq(sessions.id, reused.sessionId)).limit(1);
          await revoke(reused.sessionId, 'REFRESH_REUSE');
          await audit.record({ event: 'REFRESH_REUSE_DETECTED', userId: s?.userId, ip, detail: { sessionId: reused.sessionId } });
          throw new UnauthenticatedError('This refresh token was already used; the session has been revoked. Sign in again.');
        }
        throw new UnauthenticatedError('This refresh token is not valid. Sign in again.');
      }
      const [row] = await db
        .select({ session: sessions, role: users.role, disabled: users.disabled })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(sessions.id, spent.sessionId))
        .limit(1);
      if (!row || row.session.revokedAt !== null || row.disabled || row.session.expiresAt.getTime() <= now().getTime()) {
        throw new UnauthenticatedError('This session has ended. Sign in again.');
      }
      return this.issue(row.session, row.role, true);
    },

    revoke,
  };
}

export type Sessions = ReturnType<typeof createSessions>;
