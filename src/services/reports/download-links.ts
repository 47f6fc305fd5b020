/**
 * Signed, expiring download links: `/reports/<id>.<ext>?token=<compact JWS>`. The token is
 * an EdDSA JWT made with the signing keys every API process already shares (auth database,
 * src/services/auth/keys.ts), so any process verifies a link another made, and no new secret
 * is needed. Its own `typ` and audience keep it apart from access tokens: neither is accepted
 * as the other. Claims: `rid` (report id), `fmt`, `sub` (who asked), `adm` (an admin asked:
 * any owner's report), `exp`.
 *
 * A retired signing key keeps verifying for one access-token lifetime, so a link lives at
 * most that long (REPORT_DOWNLOAD_TTL_SECONDS is capped at ACCESS_TOKEN_TTL_SECONDS).
 */
import { jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import { SIGNING_ALG, type KeyStore } from '../auth/keys.ts';

const TYP = 'report-download+jwt';
const AUDIENCE = 'strongroom-report-download';

export interface DownloadClaims {
  readonly reportId: string;
  readonly format: string;
  readonly userId: string;
  readonly admin: boolean;
}

export interface DownloadLinks {
  /** A token for `claims`, valid `ttlSeconds` from `now`. */
  sign(claims: DownloadClaims, now: Date, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }>;
  /** The claims of a valid token; undefined when it is malformed, forged, expired or not a download token. */
  verify(token: string, now: Date): Promise<DownloadClaims | undefined>;
}

export function createDownloadLinks(keys: KeyStore, issuer: string): DownloadLinks {
  return {
    async sign(claims, now, ttlSeconds) {
      const { kid, key } = await keys.signingKey();
      const iat = Math.floor(now.getTime() / 1000);
      const exp = iat + ttlSeconds;
      const token = await new SignJWT({ rid: claims.reportId, fmt: claims.format, ...(claims.admin ? { adm: true } : {}) })
        .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: TYP })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setSubject(claims.userId)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    async verify(token, now) {
      if (token.length > 4096) return undefined;
      try {
        const { payload } = await jwtVerify(
          token,
          async (header: JWTHeaderParameters) => {
            const key = typeof header.kid === 'string' ? await keys.verificationKey(header.kid) : undefined;
            if (!key) throw new Error('unknown key');
            return key;
          },
          { algorithms: [SIGNING_ALG], issuer, audience: AUDIENCE, typ: TYP, requiredClaims: ['sub', 'exp', 'rid', 'fmt'], currentDate: now },
        );
        if (typeof payload.rid !== 'string' || typeof payload.fmt !== 'string' || typeof payload.sub !== 'string') return undefined;
        return { reportId: payload.rid, format: payload.fmt, userId: payload.sub, admin: payload.adm === true };
      } catch {
        return undefined;
      }
    },
  };
}
