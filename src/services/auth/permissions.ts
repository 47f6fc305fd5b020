/**
 * The permission checks every auth entry point makes itself, whatever called it: the
 * schema directives (`@auth`, `@twoFactor`) make the same checks through {@link enforce}
 * before a resolver runs, and a CLI or worker that calls a service directly meets them here.
 */
import { ForbiddenError, StrongroomError, UnauthenticatedError } from '../../errors.ts';
import type { Caller, SecondStepChannel, UserCaller } from './caller.ts';
import type { Role } from './tokens.ts';

/** Roles, weakest first: a role admits every weaker one's fields. */
export const RANK: Readonly<Record<Role, number>> = { USER: 0, ANALYST: 1, ADMIN: 2 };

/** The caller as a signed-in user; UNAUTHENTICATED for anyone else (a system caller has no account). */
export function requireUser(caller: Caller): UserCaller {
  if (caller.kind === 'user') return caller;
  throw new UnauthenticatedError(caller.kind === 'invalid' ? `Sign in again: ${caller.reason}.` : 'Sign in first.');
}

/** A user with `role` or a stronger one, or a system caller; else UNAUTHENTICATED or FORBIDDEN. */
export function requireRole(caller: Caller, role: Role): void {
  if (caller.kind === 'system') return;
  if (RANK[requireUser(caller).role] < RANK[role]) throw new ForbiddenError(`This needs the ${role} role.`);
}

/** A session that passed the second step (within `maxAge` seconds when given); system callers pass. */
export function requireSecondFactor(caller: Caller, maxAge?: number): void {
  if (caller.kind === 'system') return;
  const user = requireUser(caller);
  const extensions = maxAge === undefined ? {} : { maxAge };
  if (user.secondFactorAt === null) {
    throw new StrongroomError('SECOND_FACTOR_REQUIRED', 'Finish the second sign-in step (verifySignIn) first.', extensions);
  }
  if (maxAge !== undefined && user.checkedAt.getTime() - user.secondFactorAt.getTime() > maxAge * 1000) {
    throw new StrongroomError('SECOND_FACTOR_REQUIRED', `This needs a second step within the last ${maxAge} seconds; call startStepUp.`, extensions);
  }
}

/** The second steps that count as the strongest factor of a user, given whether they have an authenticator. */
export function strongestChannels(totpEnabled: boolean): readonly SecondStepChannel[] {
  return totpEnabled ? ['TOTP', 'RECOVERY_CODE'] : ['EMAIL', 'TOTP', 'RECOVERY_CODE'];
}

/**
 * For changes to the second factor itself: the session's last second step was taken within
 * `maxAge` seconds with the strongest factor the user has — once an authenticator is
 * enrolled, that is a TOTP or recovery code, never a mailed code alone. SECOND_FACTOR_REQUIRED
 * says which (`extensions.channels`); answer a startStepUp challenge with one of them.
 */
export function requireStrongestFactor(caller: UserCaller, totpEnabled: boolean, maxAge: number): void {
  requireSecondFactor(caller, maxAge);
  const channels = strongestChannels(totpEnabled);
  if (caller.secondFactorChannel === null || !channels.includes(caller.secondFactorChannel)) {
    throw new StrongroomError(
      'SECOND_FACTOR_REQUIRED',
      totpEnabled
        ? 'This needs a second step with your authenticator app or a recovery code; call startStepUp and answer with one.'
        : 'This needs a second step taken now (a remembered device is not enough); call startStepUp.',
      { maxAge, channels },
    );
  }
}

/** What a schema field needs, merged from every place a directive can sit (strictest wins). */
export interface Requirement {
  readonly role: Role;
  readonly twoFactor: boolean;
  /** Seconds since the second step, at most; undefined = any time in this session. */
  readonly maxAge: number | undefined;
}

/** Throws the coded error that stops `caller` from reading a field needing `req` (the directives' check). */
export function enforce(req: Requirement, caller: Caller): void {
  requireUser(caller);
  requireRole(caller, req.role);
  if (req.twoFactor) requireSecondFactor(caller, req.maxAge);
}
