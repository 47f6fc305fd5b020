/**
 * Sign-in, the password step: from an IP address and device the user has verified recently
 * (a known origin) it returns tokens at once; from anywhere else it opens a challenge (see
 * second-step.ts). Which limits a guess meets depends on the origin (see rate-limits.ts):
 * strangers' failures never lock out the owner's own device.
 */
import { hashPassword, verifyPassword, type PasswordParameters } from '../../crypto/passwords.ts';
import { BadUserInputError, UnauthenticatedError } from '../../errors.ts';
import { deviceIdHash } from './device.ts';
import { isKnownOrigin, type Known } from './origins.ts';
import type { RateLimits } from './rate-limits.ts';
import type { Origin, SecondStep, SignInOutcome } from './second-step.ts';
import { issueTokens } from './sessions.ts';
import type { UnitOfWork } from './stores.ts';
import type { TokenIssuer } from './tokens.ts';
import type { UserRow } from './users.ts';

export interface SignInRequest {
  readonly email: string;
  readonly password: string;
  readonly deviceId: string;
  readonly deviceLabel: string | null;
  readonly ip: string;
}

export interface SignInDeps {
  readonly password: PasswordParameters;
  readonly uow: UnitOfWork;
  readonly tokens: TokenIssuer;
  readonly limits: RateLimits;
  readonly secondStep: SecondStep;
  /** A hash of nothing, with the current parameters: unknown emails are checked against it. */
  readonly dummyHash: Promise<string>;
}

/** The nil UUID: no user has it. */
const NO_USER = '00000000-0000-0000-0000-000000000000';

const wrongCredentials = () => new UnauthenticatedError('The email or the password is wrong.');

/** The later of two dates. */
const later = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);

export function createSignIn(deps: SignInDeps) {
  const { uow, tokens, limits } = deps;

  /** The limits this attempt meets, before the password is checked (see rate-limits.ts). */
  async function admit(emailKey: string, ip: string, originKey: string | undefined): Promise<void> {
    if (originKey !== undefined) return limits.consume('signInKnownOrigin', originKey);
    await limits.consume('signInPerIp', ip);
    await limits.consume('signInPerEmailIp', `${emailKey}|${ip}`);
    await limits.checkAccountLock(emailKey);
  }

  /** From a known origin: a verified session at once (session, origin, audit and refresh-token rows together). */
  async function remembered(user: UserRow, origin: Origin, known: Known): Promise<SignInOutcome> {
    const last = later(known.ip!.verifiedAt, known.device!.verifiedAt);
    const signer = await tokens.signer();
    return uow.transaction(async (s) => {
      const session = await s.sessions.create(user.id, origin.ip, origin.deviceHash, { at: last, channel: 'REMEMBERED' });
      await s.origins.touch(user.id, origin.ip, origin.deviceHash);
      await s.audit.record({
        event: 'SIGN_IN_SUCCEEDED',
        userId: user.id,
        email: user.email,
        ip: origin.ip,
        deviceHash: origin.deviceHash,
        deviceLabel: origin.deviceLabel ?? known.device!.label,
        detail: { secondStep: 'REMEMBERED' },
      });
      const refresh = await s.sessions.newRefreshToken(session.id);
      return { tokens: await issueTokens(signer, session, user.role, refresh), challenge: null };
    });
  }

  return {
    async signIn(req: SignInRequest): Promise<SignInOutcome> {
      if (req.deviceId.trim().length === 0 || req.deviceId.length > 200) throw new BadUserInputError('deviceId must be 1–200 characters.', 'deviceId');
      if (req.deviceLabel !== null && req.deviceLabel.length > 200) throw new BadUserInputError('deviceLabel must be at most 200 characters.', 'deviceLabel');
      if (req.email.length > 320 || req.password.length > 1024) throw wrongCredentials();
      const emailKey = req.email.trim().toLowerCase();
      const origin: Origin = { ip: req.ip, deviceHash: deviceIdHash(req.deviceId), deviceLabel: req.deviceLabel };

      const user = await uow.direct.users.findByEmail(emailKey);
      // Looked up for unknown emails too (under an id no user has), so both paths do the same work.
      const known = await uow.direct.origins.knownFor(user?.id ?? NO_USER, origin.ip, origin.deviceHash);
      const originKey = user && isKnownOrigin(known) ? `${user.id}|${origin.ip}|${origin.deviceHash}` : undefined;
      await admit(emailKey, origin.ip, originKey);

      // Unknown emails cost one PBKDF2 run too, so timing does not tell which emails exist.
      const check = await verifyPassword(req.password, user?.passwordHash ?? (await deps.dummyHash), deps.password);
      if (!user || !check.ok || user.disabled) {
        // Counted per email whether or not it names an account, so a lock does not tell which do.
        const lockedForSeconds = originKey === undefined ? await limits.recordAccountFailure(emailKey) : 0;
        await uow.direct.audit.record({
          event: 'SIGN_IN_FAILED',
          userId: user?.id ?? null,
          email: emailKey,
          ...origin,
          detail: { reason: !user ? 'UNKNOWN_EMAIL' : !check.ok ? 'WRONG_PASSWORD' : 'DISABLED', ...(lockedForSeconds > 0 ? { lockedForSeconds } : {}) },
        });
        throw wrongCredentials();
      }
      if (check.needsRehash) await uow.direct.users.updatePasswordHash(user.id, await hashPassword(req.password, deps.password));
      if (originKey !== undefined) {
        await limits.reset('signInKnownOrigin', originKey);
        return remembered(user, origin, known);
      }
      await limits.reset('signInPerEmailIp', `${emailKey}|${origin.ip}`);
      await limits.resetAccountFailures(emailKey);
      return deps.secondStep.startSignIn(user, origin, known.device ? 'NEW_IP' : 'NEW_DEVICE');
    },
  };
}

export type SignIn = ReturnType<typeof createSignIn>;
