/**
 * Sign-in: password, then — from an IP address or device the user has not verified
 * recently — a second step with an emailed code, an authenticator code or a recovery code.
 */
import { randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, or, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { hashPassword, verifyPassword, type PasswordParameters } from '../../crypto/passwords.ts';
import { challenges, knownOrigins, sessions as sessionTable } from '../../db/schema/auth.ts';
import { BadUserInputError, describeForLog, StrongroomError, UnauthenticatedError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { newSignInMail, signInCodeMail } from '../../mail/render.ts';
import type { MailTransport } from '../../mail/transport.ts';
import type { AuditLog } from './audit.ts';
import { challengeState, UnreachableCaseError, type ChallengeReason, type ChallengeRow } from './challenge-state.ts';
import type { RateLimits } from './rate-limits.ts';
import type { Sessions, Tokens } from './sessions.ts';
import { sha256 } from './tokens.ts';
import { looksLikeRecoveryCode, type Totp } from './totp.ts';
import type { UserRow, UserStore } from './users.ts';

export type Channel = 'EMAIL' | 'TOTP' | 'RECOVERY_CODE';

/** What a client is told about a challenge. */
export interface ChallengeView {
  readonly id: string;
  readonly reason: ChallengeReason;
  readonly channels: readonly Channel[];
  readonly expiresAt: Date;
  /** Whether the emailed code reached the mail server; when FAILED, call resendSignInCode later. */
  readonly delivery: 'SENT' | 'FAILED';
}

export interface SignInOutcome {
  readonly tokens: Tokens;
  readonly challenge: ChallengeView | null;
}

export interface SignInRequest {
  readonly email: string;
  readonly password: string;
  readonly deviceId: string;
  readonly deviceLabel: string | null;
  readonly ip: string;
}

export interface SignInSettings {
  readonly password: PasswordParameters;
  readonly codeLength: number;
  readonly codeTtlSeconds: number;
  readonly maxAttempts: number;
  readonly rememberDeviceDays: number;
}

export interface SignInDeps {
  readonly db: NodePgDatabase;
  readonly users: UserStore;
  readonly sessions: Sessions;
  readonly totp: Totp;
  readonly audit: AuditLog;
  readonly limits: RateLimits;
  readonly mail: MailTransport;
  readonly logger: Logger;
  readonly now: () => Date;
  /** A hash of nothing, with the current parameters: unknown emails are checked against it. */
  readonly dummyHash: Promise<string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const wrongCredentials = () => new UnauthenticatedError('The email or the password is wrong.');
const deadChallenge = () => new StrongroomError('CHALLENGE_EXPIRED', 'This sign-in challenge is no longer valid; sign in again.');
const codeHash = (challengeId: string, code: string) => sha256(`${challengeId}:${code}`);

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createSignIn(settings: SignInSettings, deps: SignInDeps) {
  const { db, users, sessions, totp, audit, limits, mail, logger, now } = deps;

  const newCode = () => String(randomInt(0, 10 ** settings.codeLength)).padStart(settings.codeLength, '0');

  async function channelsFor(user: UserRow): Promise<Channel[]> {
    const channels: Channel[] = ['EMAIL'];
    if (user.totpSecret) channels.push('TOTP');
    if ((await totp.recoveryCodesLeft(user.id)) > 0) channels.push('RECOVERY_CODE');
    return channels;
  }

  async function view(row: ChallengeRow, user: UserRow): Promise<ChallengeView> {
    return {
      id: row.id,
      reason: row.reason as ChallengeReason,
      channels: await channelsFor(user),
      expiresAt: row.expiresAt,
      delivery: row.delivery === 'SENT' ? 'SENT' : 'FAILED',
    };
  }

  /** Sends one mail; false (and a log line without the message) when the server refuses. */
  async function deliver(kind: string, challengeId: string, message: Parameters<MailTransport['send']>[0]): Promise<boolean> {
    try {
      await mail.send(message);
      return true;
    } catch (err) {
      logger.warn({ challengeId, mail: kind, transport: mail.description, ...describeForLog(err) }, 'mail delivery failed');
      return false;
    }
  }

  /** Mails a fresh code (and the new-sign-in notice if it has not gone out yet); stores the outcome. */
  async function sendCode(row: ChallengeRow, user: UserRow): Promise<ChallengeRow> {
    const code = newCode();
    const device = row.deviceLabel ?? row.deviceId;
    const [codeSent, noticeSent] = await Promise.all([
      deliver('sign-in-code', row.id, signInCodeMail({ to: user.email, code, minutes: Math.round(settings.codeTtlSeconds / 60), ip: row.ip, device })),
      row.noticeSent || row.reason === 'STEP_UP'
        ? Promise.resolve(true)
        : deliver(
            'new-sign-in',
            row.id,
            newSignInMail({
              to: user.email,
              ip: row.ip,
              device,
              reason: row.reason === 'NEW_IP' ? 'new IP address' : 'new device',
              at: row.createdAt.toISOString(),
            }),
          ),
    ]);
    const [updated] = await db
      .update(challenges)
      .set({ codeHash: codeHash(row.id, code), delivery: codeSent ? 'SENT' : 'FAILED', noticeSent })
      .where(eq(challenges.id, row.id))
      .returning();
    return updated!;
  }

  async function issueChallenge(user: UserRow, sessionId: string, reason: ChallengeReason, ip: string, deviceId: string, deviceLabel: string | null) {
    const at = now();
    const id = randomUUID();
    const [row] = await db
      .insert(challenges)
      .values({
        id,
        userId: user.id,
        sessionId,
        reason,
        ip,
        deviceId,
        deviceLabel,
        // Replaced by sendCode before anyone can answer; nothing matches this.
        codeHash: codeHash(id, randomUUID()),
        delivery: 'FAILED',
        createdAt: at,
        expiresAt: new Date(at.getTime() + settings.codeTtlSeconds * 1000),
      })
      .returning();
    const sent = await sendCode(row!, user);
    await audit.record({
      event: 'CHALLENGE_ISSUED',
      userId: user.id,
      email: user.email,
      ip,
      deviceId,
      detail: { reason, challengeId: id, delivery: sent.delivery },
    });
    return view(sent, user);
  }

  /** The user's verified, unexpired origins matching this IP and device. */
  async function knownFor(userId: string, ip: string, deviceId: string) {
    const rows = await db
      .select({ kind: knownOrigins.kind, verifiedAt: knownOrigins.verifiedAt })
      .from(knownOrigins)
      .where(
        and(
          eq(knownOrigins.userId, userId),
          gt(knownOrigins.verifiedUntil, now()),
          or(and(eq(knownOrigins.kind, 'IP'), eq(knownOrigins.value, ip)), and(eq(knownOrigins.kind, 'DEVICE'), eq(knownOrigins.value, deviceId))),
        ),
      );
    return { ip: rows.find((r) => r.kind === 'IP'), device: rows.find((r) => r.kind === 'DEVICE') };
  }

  async function remember(userId: string, kind: 'IP' | 'DEVICE', value: string, label: string | null, at: Date): Promise<void> {
    const until = new Date(at.getTime() + settings.rememberDeviceDays * 86_400_000);
    await db
      .insert(knownOrigins)
      .values({ userId, kind, value, label, firstSeenAt: at, lastSeenAt: at, verifiedAt: at, verifiedUntil: until })
      .onConflictDoUpdate({
        target: [knownOrigins.userId, knownOrigins.kind, knownOrigins.value],
        set: { lastSeenAt: at, verifiedAt: at, verifiedUntil: until, label: sql`coalesce(excluded.label, ${knownOrigins.label})` },
      });
  }

  async function loadChallenge(challengeId: string): Promise<ChallengeRow> {
    if (!UUID.test(challengeId)) throw deadChallenge();
    const [row] = await db.select().from(challenges).where(eq(challenges.id, challengeId)).limit(1);
    if (!row) throw deadChallenge();
    return row;
  }

  /** The PENDING challenge, or the right error for every other phase. */
  async function pending(row: ChallengeRow) {
    const state = challengeState(row, now(), settings.maxAttempts);
    switch (state.phase) {
      case 'PENDING':
        return state;
      case 'EXPIRED':
        if (!state.recorded) {
          const marked = await db
            .update(challenges)
            .set({ status: 'EXPIRED', finishedAt: now() })
            .where(and(eq(challenges.id, row.id), eq(challenges.status, 'PENDING')))
            .returning({ id: challenges.id });
          if (marked.length)
            await audit.record({ event: 'CHALLENGE_EXPIRED', userId: row.userId, ip: row.ip, deviceId: row.deviceId, detail: { challengeId: row.id } });
        }
        throw deadChallenge();
      case 'FAILED':
      case 'VERIFIED':
        throw deadChallenge();
      default:
        throw new UnreachableCaseError(state);
    }
  }

  return {
    async signIn(req: SignInRequest): Promise<SignInOutcome> {
      if (req.deviceId.trim().length === 0 || req.deviceId.length > 200) throw new BadUserInputError('deviceId must be 1–200 characters.', 'deviceId');
      if (req.deviceLabel !== null && req.deviceLabel.length > 200) throw new BadUserInputError('deviceLabel must be at most 200 characters.', 'deviceLabel');
      if (req.email.length > 320 || req.password.length > 1024) throw wrongCredentials();
      const emailKey = req.email.trim().toLowerCase();
      await limits.consume('signInPerIp', req.ip);
      await limits.consume('signInPerEmailIp', `${emailKey}|${req.ip}`);

      const user = await users.findByEmail(emailKey);
      // Unknown emails cost one PBKDF2 run too, so timing does not tell which emails exist.
      const check = await verifyPassword(req.password, user?.passwordHash ?? (await deps.dummyHash), settings.password);
      if (!user || !check.ok || user.disabled) {
        await audit.record({
          event: 'SIGN_IN_FAILED',
          userId: user?.id ?? null,
          email: emailKey,
          ip: req.ip,
          deviceId: req.deviceId,
          detail: { reason: !user ? 'UNKNOWN_EMAIL' : !check.ok ? 'WRONG_PASSWORD' : 'DISABLED' },
        });
        throw wrongCredentials();
      }
      if (check.needsRehash) await users.updatePasswordHash(user.id, await hashPassword(req.password, settings.password));
      await limits.reset('signInPerEmailIp', `${emailKey}|${req.ip}`);

      const known = await knownFor(user.id, req.ip, req.deviceId);
      if (known.ip && known.device) {
        // biome-ignore lint/complexity/useMathMinMax: these are Dates, and the later Date is wanted, not a number
        const last = known.ip.verifiedAt > known.device.verifiedAt ? known.ip.verifiedAt : known.device.verifiedAt;
        const session = await sessions.create(user.id, req.ip, req.deviceId, last);
        await remember(user.id, 'IP', req.ip, null, last);
        await audit.record({
          event: 'SIGN_IN_SUCCEEDED',
          userId: user.id,
          email: user.email,
          ip: req.ip,
          deviceId: req.deviceId,
          detail: { secondStep: 'REMEMBERED' },
        });
        return { tokens: await sessions.issue(session, user.role, true), challenge: null };
      }
      const reason: ChallengeReason = known.device ? 'NEW_IP' : 'NEW_DEVICE';
      const session = await sessions.create(user.id, req.ip, req.deviceId, null);
      const challenge = await issueChallenge(user, session.id, reason, req.ip, req.deviceId, req.deviceLabel);
      return { tokens: await sessions.issue(session, user.role, false), challenge };
    },

    /** A new challenge for a signed-in session whose second step is too old for a field (`@twoFactor(maxAge:)`). */
    async startStepUp(userId: string, sessionId: string, ip: string): Promise<ChallengeView> {
      const user = await users.findById(userId);
      if (!user) throw new UnauthenticatedError();
      await limits.consume('resendPerChallenge', `step-up:${sessionId}`);
      const [session] = await db.select({ deviceId: sessionTable.deviceId }).from(sessionTable).where(eq(sessionTable.id, sessionId)).limit(1);
      if (!session) throw new UnauthenticatedError();
      return issueChallenge(user, sessionId, 'STEP_UP', ip, session.deviceId, null);
    },

    async verify(challengeId: string, code: string, rememberDevice: boolean, ip: string): Promise<Tokens> {
      const row = await loadChallenge(challengeId);
      await pending(row);
      await limits.consume('verifyPerUser', row.userId);
      // Count the attempt first and atomically, so parallel guesses cannot exceed the limit.
      const [counted] = await db
        .update(challenges)
        .set({ attempts: sql`${challenges.attempts} + 1` })
        .where(and(eq(challenges.id, row.id), eq(challenges.status, 'PENDING'), sql`${challenges.attempts} < ${settings.maxAttempts}`))
        .returning({ attempts: challenges.attempts });
      if (!counted) throw deadChallenge();
      const user = await users.findById(row.userId);
      if (!user || user.disabled) throw deadChallenge();

      const given = code.trim();
      let channel: Channel | undefined;
      if (/^\d+$/.test(given) && given.length === settings.codeLength && sameHash(codeHash(row.id, given), row.codeHash)) channel = 'EMAIL';
      else if (/^\d{6}$/.test(given) && (await totp.verify(user, given))) channel = 'TOTP';
      else if (looksLikeRecoveryCode(given) && (await totp.useRecoveryCode(user.id, given))) channel = 'RECOVERY_CODE';

      if (!channel) {
        const attemptsLeft = settings.maxAttempts - counted.attempts;
        if (attemptsLeft <= 0) {
          await db
            .update(challenges)
            .set({ status: 'FAILED', finishedAt: now() })
            .where(and(eq(challenges.id, row.id), eq(challenges.status, 'PENDING')));
        }
        await audit.record({ event: 'CHALLENGE_FAILED', userId: user.id, ip, deviceId: row.deviceId, detail: { challengeId: row.id, attemptsLeft } });
        throw new StrongroomError('INVALID_CODE', attemptsLeft > 0 ? 'This code is not right.' : 'This code is not right, and that was the last try.', {
          attemptsLeft,
        });
      }
      const at = now();
      const finished = await db
        .update(challenges)
        .set({ status: 'VERIFIED', finishedAt: at })
        .where(and(eq(challenges.id, row.id), eq(challenges.status, 'PENDING')))
        .returning({ id: challenges.id });
      if (finished.length === 0) throw deadChallenge();
      const session = await sessions.markSecondFactor(row.sessionId, at);
      if (rememberDevice && row.reason !== 'STEP_UP') {
        await remember(user.id, 'IP', row.ip, null, at);
        await remember(user.id, 'DEVICE', row.deviceId, row.deviceLabel, at);
      }
      await limits.reset('verifyPerUser', user.id);
      if (channel === 'RECOVERY_CODE')
        await audit.record({ event: 'RECOVERY_CODE_USED', userId: user.id, ip, deviceId: row.deviceId, detail: { challengeId: row.id } });
      await audit.record({
        event: 'CHALLENGE_VERIFIED',
        userId: user.id,
        email: user.email,
        ip,
        deviceId: row.deviceId,
        detail: { challengeId: row.id, channel, reason: row.reason, rememberDevice },
      });
      // A step-up keeps the session's current refresh token; a first verification hands out the first one.
      return sessions.issue(session, user.role, row.reason !== 'STEP_UP');
    },

    async resend(challengeId: string): Promise<ChallengeView> {
      const row = await loadChallenge(challengeId);
      await pending(row);
      await limits.consume('resendPerChallenge', row.id);
      const user = await users.findById(row.userId);
      if (!user) throw deadChallenge();
      return view(await sendCode(row, user), user);
    },
  };
}

export type SignIn = ReturnType<typeof createSignIn>;
