/**
 * Access tokens (signed JWTs, short-lived) and refresh tokens (opaque, stored hashed).
 *
 * Access token claims: `iss`, `aud`, `sub` (user id), `role`, `sid` (session id), `iat`,
 * `exp`, `sfa` — when the session last passed the second step (seconds since the epoch) —
 * and `sfc`, how (`EMAIL`, `TOTP`, `RECOVERY_CODE` or `REMEMBERED`); both absent before it
 * has. Verification pins the algorithm, issuer and audience and needs a known `kid`;
 * nothing in the token's own header can widen what is accepted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { SecondStepChannel } from './caller.ts';
import type { KeyStore, SigningKey } from './keys.ts';
import { SIGNING_ALG } from './keys.ts';

export type Role = 'USER' | 'ANALYST' | 'ADMIN';
const ROLES: readonly Role[] = ['USER', 'ANALYST', 'ADMIN'];

export interface AccessClaims {
  readonly userId: string;
  readonly role: Role;
  readonly sessionId: string;
  /** When the session last passed the second step; null before it has. */
  readonly secondFactorAt: Date | null;
  /** How it passed it; null before it has. */
  readonly secondFactorChannel: SecondStepChannel | null;
  readonly expiresAt: Date;
}

/** Signs access tokens with a key fetched beforehand: no database work, so it may run inside a transaction. */
export interface AccessTokenSigner {
  sign(claims: Omit<AccessClaims, 'expiresAt'>): Promise<{ token: string; expiresAt: Date }>;
}

const CHANNELS: readonly SecondStepChannel[] = ['EMAIL', 'TOTP', 'RECOVERY_CODE', 'REMEMBERED'];

export interface TokenOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly accessTokenTtlSeconds: number;
  readonly now: () => Date;
}

/** Why a presented access token was refused (for logs and the error message; never the token). */
export class InvalidTokenError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

export function createTokenIssuer(keys: KeyStore, options: TokenOptions) {
  async function sign({ kid, key }: SigningKey, claims: Omit<AccessClaims, 'expiresAt'>): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = seconds(options.now());
    const exp = issuedAt + options.accessTokenTtlSeconds;
    const payload: JWTPayload = { role: claims.role, sid: claims.sessionId };
    if (claims.secondFactorAt) payload.sfa = seconds(claims.secondFactorAt);
    if (claims.secondFactorAt && claims.secondFactorChannel) payload.sfc = claims.secondFactorChannel;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setSubject(claims.userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .sign(key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  return {
    /**
     * A signer holding the current signing key. Fetch it before opening a transaction: finding
     * (or rotating) the key may query the database on another connection, which a transaction
     * must never wait for (PGlite serves one transaction at a time; a pool may have one client).
     */
    async signer(): Promise<AccessTokenSigner> {
      const key = await keys.signingKey();
      return { sign: (claims) => sign(key, claims) };
    },

    /** Verifies an access token; throws {@link InvalidTokenError} with the reason. */
    async verifyAccessToken(token: string): Promise<AccessClaims> {
      try {
        const { payload } = await jwtVerify(
          token,
          async (header: JWTHeaderParameters) => {
            if (typeof header.kid !== 'string') throw new InvalidTokenError('the token has no key id');
            const key = await keys.verificationKey(header.kid);
            if (!key) throw new InvalidTokenError('the token was signed with an unknown key');
            return key;
          },
          {
            algorithms: [SIGNING_ALG],
            issuer: options.issuer,
            audience: options.audience,
            typ: 'at+jwt',
            requiredClaims: ['sub', 'sid', 'role', 'exp', 'iat'],
            currentDate: options.now(),
          },
        );
        const role = payload.role as Role;
        if (!ROLES.includes(role) || typeof payload.sid !== 'string' || typeof payload.sub !== 'string') {
          throw new InvalidTokenError('the token claims are malformed');
        }
        const { sfa, sfc } = payload;
        if (sfa !== undefined && typeof sfa !== 'number') throw new InvalidTokenError('the token claims are malformed');
        if (sfc !== undefined && !CHANNELS.includes(sfc as SecondStepChannel)) throw new InvalidTokenError('the token claims are malformed');
        return {
          userId: payload.sub,
          role,
          sessionId: payload.sid,
          secondFactorAt: typeof sfa === 'number' ? new Date(sfa * 1000) : null,
          secondFactorChannel: typeof sfa === 'number' && sfc !== undefined ? (sfc as SecondStepChannel) : null,
          expiresAt: new Date((payload.exp ?? 0) * 1000),
        };
      } catch (err) {
        throw translate(err);
      }
    },
  };
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>;

/** jose's errors, said in words a client can act on. */
function translate(err: unknown): InvalidTokenError {
  if (err instanceof InvalidTokenError) return err;
  if (err instanceof joseErrors.JWTExpired) return new InvalidTokenError('the access token has expired; refresh the session');
  if (err instanceof joseErrors.JWTClaimValidationFailed) return new InvalidTokenError(`the token's ${err.claim} claim is not accepted`);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new InvalidTokenError('the token algorithm is not accepted');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new InvalidTokenError('the token signature does not verify');
  if (err instanceof joseErrors.JOSEError) return new InvalidTokenError('the token is malformed');
  return new InvalidTokenError('the token is malformed');
}

/** A new opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** How refresh tokens, recovery codes and emailed codes are stored: SHA-256, hex (the key store is to make these HMACs). */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
