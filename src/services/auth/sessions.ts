/**
 * Sessions and their refresh tokens. A refresh token is opaque (256 random bits), stored as
 * SHA-256 and rotated on every use; presenting a spent one means it was copied, so the
 * whole session is revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
 *
 * The store runs on the executor it is built over (the database or a flow's transaction);
 * {@link issueTokens} signs without touching the database.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { refreshTokens, sessions, users } from '../../db/schema/auth.ts';
import type { SecondStepChannel } from './caller.ts';
import type { Executor } from './executor.ts';
import { newRefreshToken, sha256, type AccessTokenSigner, type Role } from './tokens.ts';

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

/** A session's second step: when, and how. */
export interface SecondStep {
  readonly at: Date;
  readonly channel: SecondStepChannel;
}

/** An access token for `session` (and `refreshToken`, when one was made for it). */
export async function issueTokens(signer: AccessTokenSigner, session: SessionRow, role: Role, refreshToken: string | null): Promise<Tokens> {
  const access = await signer.sign({
    userId: session.userId,
    role,
    sessionId: session.id,
    secondFactorAt: session.secondFactorAt,
    secondFactorChannel: (session.secondFactorChannel as SecondStepChannel | null) ?? null,
  });
  return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, secondFactorAt: session.secondFactorAt };
}

export function createSessionStore(ex: Executor, options: SessionOptions) {
  const { now } = options;
  return {
    async create(userId: string, ip: string, deviceHash: string, step: SecondStep | null): Promise<SessionRow> {
      const at = now();
      const [row] = await ex
        .insert(sessions)
        .values({
          userId,
          ip,
          deviceId: deviceHash,
          secondFactorAt: step?.at ?? null,
          secondFactorChannel: step?.channel ?? null,
          createdAt: at,
          expiresAt: new Date(at.getTime() + options.sessionTtlDays * 86_400_000),
        })
        .returning();
      return row!;
    },

    /**
     * The session, locked until the transaction ends, while it may still be used (not revoked,
     * not expired); undefined otherwise. A sign-out waits for the lock, so it cannot slip
     * between this check and the flow's writes.
     */
    async lockActive(sessionId: string): Promise<SessionRow | undefined> {
      const [row] = await ex
        .select()
        .from(sessions)
        .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now())))
        .limit(1)
        .for('no key update');
      return row;
    },

    async markSecondFactor(sessionId: string, step: SecondStep): Promise<SessionRow> {
      const [row] = await ex.update(sessions).set({ secondFactorAt: step.at, secondFactorChannel: step.channel }).where(eq(sessions.id, sessionId)).returning();
      return row!;
    },

    /** Ends the session; false when it had already ended. */
    async revoke(sessionId: string, reason: string): Promise<boolean> {
      const ended = await ex
        .update(sessions)
        .set({ revokedAt: now(), revokedReason: reason })
        .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
        .returning({ id: sessions.id });
      return ended.length === 1;
    },

    /** Whether the session may still be used: not revoked, not expired, its user not disabled. */
    async isActive(sessionId: string): Promise<boolean> {
      const [row] = await ex
        .select({ revokedAt: sessions.revokedAt, expiresAt: sessions.expiresAt, disabled: users.disabled })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(sessions.id, sessionId))
        .limit(1);
      return row !== undefined && row.revokedAt === null && !row.disabled && row.expiresAt.getTime() > now().getTime();
    },

    /** The session with its user's role and state. */
    async withUser(sessionId: string) {
      const [row] = await ex
        .select({ session: sessions, role: users.role, disabled: users.disabled })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(sessions.id, sessionId))
        .limit(1);
      return row;
    },

    /** A new refresh token for the session (stored hashed); the token itself is returned once. */
    async newRefreshToken(sessionId: string): Promise<string> {
      const token = newRefreshToken();
      await ex.insert(refreshTokens).values({ sessionId, tokenHash: sha256(token), createdAt: now() });
      return token;
    },

    /** Spends an unspent refresh token; its session id, or undefined when it is unknown or spent. */
    async spendRefreshToken(token: string): Promise<string | undefined> {
      const [spent] = await ex
        .update(refreshTokens)
        .set({ spentAt: now() })
        .where(and(eq(refreshTokens.tokenHash, sha256(token)), isNull(refreshTokens.spentAt)))
        .returning({ sessionId: refreshTokens.sessionId });
      return spent?.sessionId;
    },

    /** The session of a refresh token, spent or not. */
    async sessionOfRefreshToken(token: string): Promise<string | undefined> {
      const [row] = await ex
        .select({ sessionId: refreshTokens.sessionId })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, sha256(token)))
        .limit(1);
      return row?.sessionId;
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
