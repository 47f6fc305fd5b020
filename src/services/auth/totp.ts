/**
 * Authenticator apps (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps, one step of drift
 * either way — what every authenticator app does) and one-time recovery codes: the pure
 * parts, and the store of their rows over an executor.
 */
import { randomInt } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import * as OTPAuth from 'otpauth';
import { recoveryCodes, users } from '../../db/schema/auth.ts';
import type { Executor } from './executor.ts';
import { sha256 } from './tokens.ts';

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

export function createTotpStore(ex: Executor, now: () => Date) {
  return {
    /** Keeps a secret handed out by enrollTotp until confirmTotp; replaces any earlier unconfirmed one. */
    async setPending(userId: string, secret: string): Promise<void> {
      await ex.update(users).set({ totpPendingSecret: secret, updatedAt: now() }).where(eq(users.id, userId));
    },

    /** Makes `secret` the user's authenticator (replacing any earlier one), with `step` already used. */
    async activate(userId: string, secret: string, step: number): Promise<void> {
      await ex.update(users).set({ totpSecret: secret, totpPendingSecret: null, totpLastStep: step, updatedAt: now() }).where(eq(users.id, userId));
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

    /** Replaces every recovery code of the user with `codes` (stored hashed). */
    async replaceRecoveryCodes(userId: string, codes: readonly string[]): Promise<void> {
      await ex.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
      await ex.insert(recoveryCodes).values(codes.map((c) => ({ userId, codeHash: sha256(normalizeRecovery(c)), createdAt: now() })));
    },

    /** Spends a recovery code; false when it is unknown or already used. */
    async useRecoveryCode(userId: string, code: string): Promise<boolean> {
      const used = await ex
        .update(recoveryCodes)
        .set({ usedAt: now() })
        .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, sha256(normalizeRecovery(code))), isNull(recoveryCodes.usedAt)))
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
