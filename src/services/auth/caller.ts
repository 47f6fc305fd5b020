/** Who is making a request, as the context resolved it from `Authorization: Bearer …`. */
import type { Role } from './tokens.ts';

/**
 * How a session last passed the second step: a mailed code, an authenticator code, a
 * recovery code, or `REMEMBERED` (the sign-in came from an IP address and device the user
 * had verified before, so no step was taken now).
 */
export type SecondStepChannel = 'EMAIL' | 'TOTP' | 'RECOVERY_CODE' | 'REMEMBERED';

/** A signed-in user, as a valid access token says. */
export interface UserCaller {
  readonly kind: 'user';
  readonly userId: string;
  readonly role: Role;
  readonly sessionId: string;
  /** When the session last passed the second step; null before it has. */
  readonly secondFactorAt: Date | null;
  /** How it passed it; null before it has (or for a token issued before this was recorded). */
  readonly secondFactorChannel: SecondStepChannel | null;
  /** The server's clock when the request was authenticated (what `@twoFactor(maxAge:)` compares with). */
  readonly checkedAt: Date;
}

export type Caller =
  | { readonly kind: 'anonymous' }
  /** A token was presented and refused; `reason` says why (never the token). */
  | { readonly kind: 'invalid'; readonly reason: string }
  | UserCaller
  /**
   * Code of our own acting with every permission: command-line tools, fixtures and the
   * first-admin bootstrap. Never made from a request; only in-process code can pass it.
   */
  | { readonly kind: 'system'; readonly purpose: string };

export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous' });

/** The caller for trusted in-process code (a CLI, a fixture), named for what it does. */
export const systemCaller = (purpose: string): Caller => Object.freeze({ kind: 'system', purpose });
