/**
 * The second step: challenges, answered with a mailed code, an authenticator (TOTP) code or
 * a recovery code. Each flow writes its rows in one transaction and mails after it commits:
 * opening a challenge (session, challenge and audit rows), answering one (attempt, outcome,
 * session, remembered origins, audit rows and the first refresh token), resending a code.
 */
import { randomUUID } from 'node:crypto';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import { StrongroomError, UnauthenticatedError } from '../../errors.ts';
import { newSignInMail, signInCodeMail } from '../../mail/render.ts';
import type { SecondStepChannel } from './caller.ts';
import { challengeState, UnreachableCaseError, type ChallengeReason, type ChallengeRow } from './challenge-state.ts';
import { codeHash, isMailedCode, newCode, noCodeHash, type Delivery } from './challenges.ts';
import { UNNAMED_DEVICE } from './device.ts';
import type { Mailer } from './mailer.ts';
import type { RateLimits } from './rate-limits.ts';
import { issueTokens, type Tokens } from './sessions.ts';
import type { Stores, UnitOfWork } from './stores.ts';
import type { AccessTokenSigner, TokenIssuer } from './tokens.ts';
import { looksLikeRecoveryCode, matchingStep } from './totp.ts';
import type { UserRow } from './users.ts';

/** A way to answer a challenge. */
export type Channel = Exclude<SecondStepChannel, 'REMEMBERED'>;

/** What a client is told about a challenge. */
export interface ChallengeView {
  readonly id: string;
  readonly reason: ChallengeReason;
  readonly channels: readonly Channel[];
  readonly expiresAt: Date;
  /** Whether the mailed code reached the mail server (FAILED: call resendSignInCode later); NOT_SENT when email codes are off. */
  readonly delivery: Delivery;
}

export interface SignInOutcome {
  readonly tokens: Tokens;
  readonly challenge: ChallengeView | null;
}

/** Where a sign-in comes from: the device by its hash, and the label the client gave it. */
export interface Origin {
  readonly ip: string;
  readonly deviceHash: string;
  readonly deviceLabel: string | null;
}

export interface SecondStepSettings {
  readonly codeLength: number;
  readonly codeTtlSeconds: number;
  readonly maxAttempts: number;
}

export interface SecondStepDeps {
  readonly uow: UnitOfWork;
  /** Keys mailed codes' hashes. */
  readonly cipher: FieldCipher;
  readonly tokens: TokenIssuer;
  readonly limits: RateLimits;
  readonly mailer: Mailer;
  readonly now: () => Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const deadChallenge = () => new StrongroomError('CHALLENGE_EXPIRED', 'This sign-in challenge is no longer valid; sign in again.');

/** Whether challenges mail this user a code: unless they turned it off, which needs an authenticator. */
export const emailCodesOn = (user: UserRow) => user.emailCodesEnabled || user.totpSecret === null;

/** The channels a challenge offers the user. */
export function channelsFor(user: UserRow, recoveryCodesLeft: number): Channel[] {
  const channels: Channel[] = [];
  if (emailCodesOn(user)) channels.push('EMAIL');
  if (user.totpSecret) channels.push('TOTP');
  if (recoveryCodesLeft > 0) channels.push('RECOVERY_CODE');
  return channels;
}

/** The outcome of answering a challenge, decided (and its rows written) inside the transaction. */
type Answer = { readonly kind: 'verified'; readonly tokens: Tokens } | { readonly kind: 'wrong'; readonly attemptsLeft: number } | { readonly kind: 'dead' };
const DEAD: Answer = Object.freeze({ kind: 'dead' });

export function createSecondStep(settings: SecondStepSettings, deps: SecondStepDeps) {
  const { uow, tokens, limits, mailer, now, cipher } = deps;

  async function view(row: ChallengeRow, user: UserRow): Promise<ChallengeView> {
    return {
      id: row.id,
      reason: row.reason as ChallengeReason,
      channels: channelsFor(user, await uow.direct.totp.recoveryCodesLeft(user.id)),
      expiresAt: row.expiresAt,
      delivery: row.delivery as Delivery,
    };
  }

  /** Inside a flow's transaction: the challenge row with its code's hash, and its audit row. The code is mailed after commit. */
  async function open(s: Stores, user: UserRow, sessionId: string, reason: ChallengeReason, origin: Origin) {
    const id = randomUUID();
    const code = emailCodesOn(user) ? newCode(settings.codeLength) : null;
    const row = await s.challenges.insert({
      id,
      userId: user.id,
      sessionId,
      reason,
      ...origin,
      codeHash: code === null ? noCodeHash(cipher, id) : codeHash(cipher, id, code),
      // FAILED until the mail server has the code (a crash before then leaves it so).
      delivery: code === null ? 'NOT_SENT' : 'FAILED',
      expiresAt: new Date(now().getTime() + settings.codeTtlSeconds * 1000),
    });
    await s.audit.record({
      event: 'CHALLENGE_ISSUED',
      userId: user.id,
      email: user.email,
      ip: origin.ip,
      deviceHash: origin.deviceHash,
      deviceLabel: origin.deviceLabel,
      detail: { reason, challengeId: id },
    });
    return { row, code };
  }

  /** After commit: mails the code (when there is one) and the new-sign-in notice (once), and records how it went. */
  async function send(row: ChallengeRow, user: UserRow, code: string | null): Promise<ChallengeRow> {
    const device = row.deviceLabel ?? UNNAMED_DEVICE;
    const refs = { challengeId: row.id };
    const [codeSent, noticeSent] = await Promise.all([
      code === null
        ? false
        : mailer.deliver('sign-in-code', refs, signInCodeMail({ to: user.email, code, minutes: Math.round(settings.codeTtlSeconds / 60), ip: row.ip, device })),
      row.noticeSent || row.reason === 'STEP_UP'
        ? true
        : mailer.deliver(
            'new-sign-in',
            refs,
            newSignInMail({
              to: user.email,
              ip: row.ip,
              device,
              reason: row.reason === 'NEW_IP' ? 'new IP address' : 'new device',
              at: row.createdAt.toISOString(),
            }),
          ),
    ]);
    const delivery: Delivery = code === null ? 'NOT_SENT' : codeSent ? 'SENT' : 'FAILED';
    return (await uow.direct.challenges.setDelivery(row.id, delivery, noticeSent)) ?? row;
  }

  /** Records that a challenge died without an answer (its time ran out, or its session ended). */
  async function expire(s: Stores, row: ChallengeRow, why: 'TIME' | 'SESSION_ENDED'): Promise<void> {
    if (await s.challenges.finish(row.id, 'EXPIRED', now())) {
      await s.audit.record({
        event: 'CHALLENGE_EXPIRED',
        userId: row.userId,
        ip: row.ip,
        deviceHash: row.deviceId,
        deviceLabel: row.deviceLabel,
        detail: { challengeId: row.id, why },
      });
    }
  }

  /** Which channel `given` answers, spending a TOTP step or a recovery code in the transaction; undefined when none. */
  async function match(s: Stores, row: ChallengeRow, user: UserRow, given: string): Promise<Channel | undefined> {
    if (emailCodesOn(user) && /^\d+$/.test(given) && given.length === settings.codeLength && isMailedCode(cipher, row, given)) return 'EMAIL';
    if (user.totpSecret && /^\d{6}$/.test(given)) {
      // Opened only now that a code could be one of its codes; a secret that does not open fails closed.
      const step = matchingStep(s.totp.secretOf(user, 'confirmed')!, given, now());
      if (step !== undefined && (await s.totp.acceptStep(user.id, step))) return 'TOTP';
    }
    if (looksLikeRecoveryCode(given) && (await s.totp.useRecoveryCode(user.id, given))) return 'RECOVERY_CODE';
    return undefined;
  }

  /** The whole of an answer, in one transaction: the challenge and its session are locked, so answers and sign-outs take turns. */
  async function answer(s: Stores, challengeId: string, given: string, rememberDevice: boolean, ip: string, signer: AccessTokenSigner): Promise<Answer> {
    const row = await s.challenges.lock(challengeId);
    if (!row) return DEAD;
    const state = challengeState(row, now(), settings.maxAttempts);
    switch (state.phase) {
      case 'PENDING':
        break;
      case 'EXPIRED':
        if (!state.recorded) await expire(s, row, 'TIME');
        return DEAD;
      case 'FAILED':
      case 'VERIFIED':
        return DEAD;
      default:
        throw new UnreachableCaseError(state);
    }
    // A signed-out (or expired) session's challenge dies with it: no tokens, nothing remembered.
    const session = await s.sessions.lockActive(row.sessionId);
    const user = await s.users.findById(row.userId);
    if (!session || !user || user.disabled) {
      await expire(s, row, 'SESSION_ENDED');
      return DEAD;
    }
    const attempts = await s.challenges.countAttempt(row);
    const channel = await match(s, row, user, given);
    const device = { deviceHash: row.deviceId, deviceLabel: row.deviceLabel };
    if (!channel) {
      const attemptsLeft = settings.maxAttempts - attempts;
      if (attemptsLeft <= 0) await s.challenges.finish(row.id, 'FAILED', now());
      await s.audit.record({ event: 'CHALLENGE_FAILED', userId: user.id, ip, ...device, detail: { challengeId: row.id, attemptsLeft } });
      return { kind: 'wrong', attemptsLeft };
    }
    const at = now();
    await s.challenges.finish(row.id, 'VERIFIED', at);
    const verified = await s.sessions.markSecondFactor(session.id, { at, channel });
    if (rememberDevice && row.reason !== 'STEP_UP') {
      await s.origins.remember(user.id, 'IP', row.ip, null, at);
      await s.origins.remember(user.id, 'DEVICE', row.deviceId, row.deviceLabel, at);
    }
    if (channel === 'RECOVERY_CODE') await s.audit.record({ event: 'RECOVERY_CODE_USED', userId: user.id, ip, ...device, detail: { challengeId: row.id } });
    await s.audit.record({
      event: 'CHALLENGE_VERIFIED',
      userId: user.id,
      email: user.email,
      ip,
      ...device,
      detail: { challengeId: row.id, channel, reason: row.reason, rememberDevice },
    });
    // A step-up keeps the session's current refresh token; a first verification hands out the first one.
    const refresh = row.reason === 'STEP_UP' ? null : await s.sessions.newRefreshToken(session.id);
    return { kind: 'verified', tokens: await issueTokens(signer, verified, user.role, refresh) };
  }

  /** The challenge if it can still be answered; CHALLENGE_EXPIRED otherwise (recording an expiry not yet recorded). */
  async function pending(challengeId: string): Promise<ChallengeRow> {
    const row = UUID.test(challengeId) ? await uow.direct.challenges.find(challengeId) : undefined;
    if (!row) throw deadChallenge();
    const state = challengeState(row, now(), settings.maxAttempts);
    switch (state.phase) {
      case 'PENDING':
        return row;
      case 'EXPIRED':
        if (!state.recorded) await uow.transaction((s) => expire(s, row, 'TIME'));
        throw deadChallenge();
      case 'FAILED':
      case 'VERIFIED':
        throw deadChallenge();
      default:
        throw new UnreachableCaseError(state);
    }
  }

  return {
    /** A new session that must pass a challenge before it is verified: session, challenge and audit rows together, then the mail. */
    async startSignIn(user: UserRow, origin: Origin, reason: ChallengeReason): Promise<SignInOutcome> {
      const signer = await tokens.signer();
      const opened = await uow.transaction(async (s) => {
        const session = await s.sessions.create(user.id, origin.ip, origin.deviceHash, null);
        const { row, code } = await open(s, user, session.id, reason, origin);
        return { row, code, tokens: await issueTokens(signer, session, user.role, null) };
      });
      return { tokens: opened.tokens, challenge: await view(await send(opened.row, user, opened.code), user) };
    },

    /** A new challenge for a signed-in session whose second step is too old, or too weak, for a field. */
    async startStepUp(user: UserRow, sessionId: string, ip: string): Promise<ChallengeView> {
      await limits.consume('resendPerChallenge', `step-up:${sessionId}`);
      const opened = await uow.transaction(async (s) => {
        const session = await s.sessions.lockActive(sessionId);
        if (!session) throw new UnauthenticatedError('This session has ended. Sign in again.');
        const deviceLabel = await s.origins.labelOf(user.id, session.deviceId);
        return open(s, user, sessionId, 'STEP_UP', { ip, deviceHash: session.deviceId, deviceLabel });
      });
      return view(await send(opened.row, user, opened.code), user);
    },

    async verify(challengeId: string, code: string, rememberDevice: boolean, ip: string): Promise<Tokens> {
      // A dead challenge is refused before the attempt is counted against the user.
      const row = await pending(challengeId);
      await limits.consume('verifyPerUser', row.userId);
      const signer = await tokens.signer();
      const outcome = await uow.transaction((s) => answer(s, row.id, code.trim(), rememberDevice, ip, signer));
      switch (outcome.kind) {
        case 'verified':
          await limits.reset('verifyPerUser', row.userId);
          return outcome.tokens;
        case 'wrong':
          throw new StrongroomError(
            'INVALID_CODE',
            outcome.attemptsLeft > 0 ? 'This code is not right.' : 'This code is not right, and that was the last try.',
            {
              attemptsLeft: outcome.attemptsLeft,
            },
          );
        case 'dead':
          throw deadChallenge();
        default:
          throw new UnreachableCaseError(outcome);
      }
    },

    /** A new code (stored before it is mailed), and the notice if it had not gone out; only the notice when email codes are off. */
    async resend(challengeId: string): Promise<ChallengeView> {
      const row = await pending(challengeId);
      await limits.consume('resendPerChallenge', row.id);
      const user = await uow.direct.users.findById(row.userId);
      if (!user || user.disabled || !(await uow.direct.sessions.isActive(row.sessionId))) throw deadChallenge();
      const code = emailCodesOn(user) ? newCode(settings.codeLength) : null;
      // Answered meanwhile: no new code for a finished challenge.
      if (code !== null && !(await uow.direct.challenges.setCode(row.id, codeHash(cipher, row.id, code)))) throw deadChallenge();
      return view(await send(row, user, code), user);
    },
  };
}

export type SecondStep = ReturnType<typeof createSecondStep>;
