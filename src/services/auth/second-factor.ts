/**
 * Changing the second factor: enrolling or replacing an authenticator app, new recovery
 * codes, mailed codes on or off. Each needs the strongest factor the user has, taken within
 * the last {@link CHANGE_MAX_AGE} seconds (permissions.ts `requireStrongestFactor`: once an
 * authenticator is enrolled, a mailed code alone is not enough), writes its rows in one
 * transaction, and then mails the account a security notice.
 *
 * A user who lost their authenticator signs in (or steps up) with a recovery code, which
 * counts as the strongest factor, and enrols a new app; that also replaces the recovery codes.
 */
import { BadUserInputError, StrongroomError, UnauthenticatedError } from '../../errors.ts';
import { securityNoticeMail } from '../../mail/render.ts';
import type { UserCaller } from './caller.ts';
import { UNNAMED_DEVICE } from './device.ts';
import type { Mailer } from './mailer.ts';
import { requireStrongestFactor } from './permissions.ts';
import type { RateLimits } from './rate-limits.ts';
import type { Stores, UnitOfWork } from './stores.ts';
import { enrollmentFor, matchingStep, newRecoveryCodes, newTotpSecret, type TotpEnrollment } from './totp.ts';
import type { UserRow } from './users.ts';

/** How recent the strongest second step must be to change the second factor, in seconds (the schema's `@twoFactor(maxAge: 900)`). */
export const CHANGE_MAX_AGE = 900;

export interface SecondFactorDeps {
  readonly totpIssuer: string;
  readonly uow: UnitOfWork;
  readonly limits: RateLimits;
  readonly mailer: Mailer;
  readonly now: () => Date;
}

/** What a security notice says: the change, and what it means for the owner. */
interface Notice {
  readonly change: string;
  readonly consequence: string;
}

export function createSecondFactor(deps: SecondFactorDeps) {
  const { uow, limits, mailer, now } = deps;

  async function userOf(caller: UserCaller): Promise<UserRow> {
    const user = await uow.direct.users.findById(caller.userId);
    if (!user || user.disabled) throw new UnauthenticatedError();
    return user;
  }

  /** Inside the change's transaction: the user locked, checked again (another session may have enrolled meanwhile). */
  async function locked(s: Stores, caller: UserCaller): Promise<UserRow> {
    const user = await s.users.lockById(caller.userId);
    if (!user || user.disabled) throw new UnauthenticatedError();
    requireStrongestFactor(caller, user.totpSecret !== null, CHANGE_MAX_AGE);
    return user;
  }

  /** After commit: the notice, naming the IP address and the session's device by its label. */
  async function notify(caller: UserCaller, user: UserRow, ip: string, notice: Notice): Promise<void> {
    const session = await uow.direct.sessions.withUser(caller.sessionId);
    const label = session ? await uow.direct.origins.labelOf(user.id, session.session.deviceId) : null;
    await mailer.deliver(
      'security-notice',
      { userId: user.id },
      securityNoticeMail({ to: user.email, ...notice, ip, device: label ?? UNNAMED_DEVICE, at: now().toISOString() }),
    );
  }

  return {
    /** A secret for a new (or replacement) authenticator app, kept until confirmTotp. */
    async enrollTotp(caller: UserCaller): Promise<TotpEnrollment> {
      const user = await userOf(caller);
      requireStrongestFactor(caller, user.totpSecret !== null, CHANGE_MAX_AGE);
      const secret = newTotpSecret();
      await uow.direct.totp.setPending(user.id, secret);
      return enrollmentFor(deps.totpIssuer, user.email, secret);
    },

    /** Makes the pending secret the user's authenticator, with new recovery codes (returned once), and tells the owner. */
    async confirmTotp(caller: UserCaller, code: string, ip: string): Promise<string[]> {
      const before = await userOf(caller);
      requireStrongestFactor(caller, before.totpSecret !== null, CHANGE_MAX_AGE);
      await limits.consume('verifyPerUser', before.id);
      const codes = newRecoveryCodes();
      const { user, replaced } = await uow.transaction(async (s) => {
        const user = await locked(s, caller);
        const pending = s.totp.secretOf(user, 'pending');
        if (pending === undefined) throw new BadUserInputError('Start with enrollTotp.', 'code');
        const step = matchingStep(pending, code.trim(), now());
        if (step === undefined) throw new StrongroomError('INVALID_CODE', 'This code does not match; check the time on the device.', { attemptsLeft: null });
        await s.totp.activate(user.id, pending, step);
        await s.totp.replaceRecoveryCodes(user.id, codes);
        const replaced = user.totpSecret !== null;
        await s.audit.record({ event: 'TOTP_ENROLLED', userId: user.id, email: user.email, ip, detail: { replaced } });
        return { user, replaced };
      });
      await notify(
        caller,
        user,
        ip,
        replaced
          ? { change: 'Your authenticator app was replaced', consequence: 'Codes from the old app no longer work, nor do the old recovery codes.' }
          : { change: 'An authenticator app was set up', consequence: 'Its codes, or a recovery code, now answer sign-in challenges.' },
      );
      return codes;
    },

    /** New recovery codes (returned once) in place of every old one, and a notice. */
    async regenerateRecoveryCodes(caller: UserCaller, ip: string): Promise<string[]> {
      const before = await userOf(caller);
      if (before.totpSecret === null) throw new BadUserInputError('Recovery codes come with an authenticator app: enrol one first (enrollTotp).');
      requireStrongestFactor(caller, true, CHANGE_MAX_AGE);
      const codes = newRecoveryCodes();
      const user = await uow.transaction(async (s) => {
        const user = await locked(s, caller);
        await s.totp.replaceRecoveryCodes(user.id, codes);
        await s.audit.record({ event: 'RECOVERY_CODES_REGENERATED', userId: user.id, email: user.email, ip });
        return user;
      });
      await notify(caller, user, ip, { change: 'New recovery codes were made', consequence: 'The old recovery codes no longer work.' });
      return codes;
    },

    /** Mailed codes on or off (off only with an authenticator); a notice when it changes. */
    async setEmailCodes(caller: UserCaller, enabled: boolean, ip: string): Promise<UserRow> {
      const before = await userOf(caller);
      if (!enabled && before.totpSecret === null) {
        throw new BadUserInputError('Mailed codes can be turned off only once an authenticator app is enrolled.', 'enabled');
      }
      requireStrongestFactor(caller, before.totpSecret !== null, CHANGE_MAX_AGE);
      if (before.emailCodesEnabled === enabled) return before;
      const user = await uow.transaction(async (s) => {
        await locked(s, caller);
        const updated = await s.users.setEmailCodes(caller.userId, enabled);
        if (!updated) throw new BadUserInputError('Mailed codes can be turned off only once an authenticator app is enrolled.', 'enabled');
        await s.audit.record({ event: enabled ? 'EMAIL_CODES_ENABLED' : 'EMAIL_CODES_DISABLED', userId: updated.id, email: updated.email, ip });
        return updated;
      });
      await notify(
        caller,
        user,
        ip,
        enabled
          ? { change: 'Sign-in codes by email were turned on', consequence: 'Sign-in challenges mail you a code again.' }
          : {
              change: 'Sign-in codes by email were turned off',
              consequence: 'Sign-in challenges no longer mail a code: answer them with your authenticator app or a recovery code.',
            },
      );
      return user;
    },
  };
}

export type SecondFactor = ReturnType<typeof createSecondFactor>;
