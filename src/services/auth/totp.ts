/**
 * Authenticator apps (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps, one step of drift
 * either way — what every authenticator app does) and one-time recovery codes: the pure
 * parts, and the store of their rows over an executor.
 *
 * TOTP secrets are stored sealed by the {@link FieldCipher} (a Fernet token and its key's id)
 * and opened only where a code is checked ({@link TotpStore.secretOf}). Recovery codes are
 * stored as an HMAC under the keyring's code key; a code stored before that as a bare SHA-256
 * (no `<version>:` prefix) is still accepted until it is used or replaced.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import * as OTPAuth from 'otpauth';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import { recoveryCodes, users } from '../../db/schema/auth.ts';
import type { Executor } from './executor.ts';
import { sha256 } from './tokens.ts';
import type { UserRow } from './users.ts';

const PERIOD = 30;
const WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;
/** Crockford-like base32 without look-alikes (no i, l, o, u): 10 characters ≈ 50 bits. */
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export interface TotpEnrollment {
  readonly secret: string;
  readonly uri: string;
  readonly qrCodeSvg: string;
}

const totpFor = (issuer: string, label: string, secret: string) =>
  new OTPAuth.TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: OTPAuth.Secret.fromBase32(secret) });

/** A new 160-bit secret, base32. */
export const newTotpSecret = () => new OTPAuth.Secret({ size: 20 }).base32;

/** What an app needs to add the account: the secret, its `otpauth://` URI and that URI as a QR code. */
export async function enrollmentFor(issuer: string, email: string, secret: string): Promise<TotpEnrollment> {
  const uri = totpFor(issuer, email, secret).toString();
  // Loaded on first use: few requests need it, and every process start would pay for it.
  const { default: QRCode } = await import('qrcode');
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret, uri, qrCodeSvg: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/** The time step a code matches (within ±1 step of `now`), or undefined. */
export function matchingStep(secret: string, code: string, now: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const totp = totpFor('', 'x', secret);
  const delta = totp.validate({ token: code, timestamp: now.getTime(), window: WINDOW });
  return delta === null ? undefined : Math.floor(now.getTime() / 1000 / PERIOD) + delta;
}

/** Lower case, no separators: how recovery codes are compared. */
const normalizeRecovery = (code: string) => code.toLowerCase().replace(/[^0-9a-z]/g, '');

export function looksLikeRecoveryCode(code: string): boolean {
  return normalizeRecovery(code).length === 10 && !/^\d+$/.test(normalizeRecovery(code));
}

/** A fresh set of recovery codes, `xxxxx-xxxxx`. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let s = '';
    for (let i = 0; i < 10; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}

/** Whether a stored recovery-code hash is one of the bare SHA-256 ones made before the keyring (64 hex digits, no version). */
const LEGACY_SHA256 = /^[0-9a-f]{64}$/;

/** Whether `code` (normalized) is the one `stored` was made from: HMAC under the keyring, or the legacy SHA-256. */
function recoveryCodeMatches(cipher: FieldCipher, code: string, stored: string): boolean {
  if (!LEGACY_SHA256.test(stored)) return cipher.matchesCode(code, stored);
  return timingSafeEqual(Buffer.from(sha256(code)), Buffer.from(stored));
}

export function createTotpStore(ex: Executor, now: () => Date, cipher: FieldCipher) {
  return {
    /**
     * The user's TOTP secret in the clear (`pending`: the one waiting for confirmTotp), or
     * undefined when there is none. A stored value that does not open (tampered, unknown key,
     * or still unsealed) throws DECRYPTION_FAILED: it is never taken for the secret itself.
     */
    secretOf(
      user: Pick<UserRow, 'totpSecret' | 'totpSecretKeyId' | 'totpPendingSecret' | 'totpPendingSecretKeyId'>,
      which: 'confirmed' | 'pending',
    ): string | undefined {
      const [token, keyId] = which === 'confirmed' ? [user.totpSecret, user.totpSecretKeyId] : [user.totpPendingSecret, user.totpPendingSecretKeyId];
      return token === null ? undefined : cipher.open({ token, keyId });
    },

    /** Keeps a secret handed out by enrollTotp until confirmTotp (sealed); replaces any earlier unconfirmed one. */
    async setPending(userId: string, secret: string): Promise<void> {
      const sealed = cipher.seal(secret);
      await ex.update(users).set({ totpPendingSecret: sealed.token, totpPendingSecretKeyId: sealed.keyId, updatedAt: now() }).where(eq(users.id, userId));
    },

    /** Makes `secret` the user's authenticator (sealed, replacing any earlier one), with `step` already used. */
    async activate(userId: string, secret: string, step: number): Promise<void> {
      const sealed = cipher.seal(secret);
      await ex
        .update(users)
        .set({
          totpSecret: sealed.token,
          totpSecretKeyId: sealed.keyId,
          totpPendingSecret: null,
          totpPendingSecretKeyId: null,
          totpLastStep: step,
          updatedAt: now(),
        })
        .where(eq(users.id, userId));
    },

    /** Accepts a TOTP time step once: it must be later than the last one accepted (no replay). */
    async acceptStep(userId: string, step: number): Promise<boolean> {
      const updated = await ex
        .update(users)
        .set({ totpLastStep: step })
        .where(and(eq(users.id, userId), sql`coalesce(${users.totpLastStep}, -1) < ${step}`))
        .returning({ id: users.id });
      return updated.length === 1;
    },

    /** Replaces every recovery code of the user with `codes` (stored as HMACs). */
    async replaceRecoveryCodes(userId: string, codes: readonly string[]): Promise<void> {
      await ex.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
      await ex.insert(recoveryCodes).values(codes.map((c) => ({ userId, codeHash: cipher.hashCode(normalizeRecovery(c)), createdAt: now() })));
    },

    /**
     * Spends a recovery code; false when it is unknown or already used. A keyed hash cannot be
     * looked up by value (each names its key version), so the user's unused codes (at most
     * {@link RECOVERY_CODE_COUNT}) are locked and each is compared in constant time.
     */
    async useRecoveryCode(userId: string, code: string): Promise<boolean> {
      const given = normalizeRecovery(code);
      const unused = await ex
        .select({ id: recoveryCodes.id, codeHash: recoveryCodes.codeHash })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
        .for('update');
      const match = unused.find((row) => recoveryCodeMatches(cipher, given, row.codeHash));
      if (!match) return false;
      const used = await ex
        .update(recoveryCodes)
        .set({ usedAt: now() })
        .where(and(eq(recoveryCodes.id, match.id), isNull(recoveryCodes.usedAt)))
        .returning({ id: recoveryCodes.id });
      return used.length === 1;
    },

    async recoveryCodesLeft(userId: string): Promise<number> {
      const [row] = await ex
        .select({ n: sql<number>`count(*)::int` })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
      return row?.n ?? 0;
    },
  };
}

export type TotpStore = ReturnType<typeof createTotpStore>;
