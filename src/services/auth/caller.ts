/** Who is making a request, as the context resolved it from `Authorization: Bearer …`. */
import type { Role } from './tokens.ts';

export type Caller =
  | { readonly kind: 'anonymous' }
  /** A token was presented and refused; `reason` says why (never the token). */
  | { readonly kind: 'invalid'; readonly reason: string }
  | {
      readonly kind: 'user';
      readonly userId: string;
      readonly role: Role;
      readonly sessionId: string;
      /** When the session last passed the second step; null before it has. */
      readonly secondFactorAt: Date | null;
      /** The server's clock when the request was authenticated (what `@twoFactor(maxAge:)` compares with). */
      readonly checkedAt: Date;
    };

export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous' });
