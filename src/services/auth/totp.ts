/**
 * Authenticator apps (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps, one step of drift
 * either way — what every authenticator app does) and one-time recovery codes.
 */
import { randomInt } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as OTPAuth from 'otpauth';
import { recoveryCodes, users } from '../../db/schema/auth.ts';
import { BadUserInputError, StrongroomError } from '../../errors.ts';
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

/** The time step a code matches (within ±1 step of `now`), or undefined. */
function matchingStep(secret: string, code: string, now: Date): number | undefined {
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

function newRecoveryCode(): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

export function createTotp(db: NodePgDatabase, options: { issuer: string; now: () => Date }) {
  const { now } = options;
  return {
    /** A fresh secret waiting for confirmation; replaces any earlier unconfirmed one. */
    async enroll(user: UserRow): Promise<TotpEnrollment> {
      const secret = new OTPAuth.Secret({ size: 20 }).base32;
      await db.update(users).set({ totpPendingSecret: secret, updatedAt: now() }).where(eq(users.id, user.id));
      const uri = totpFor(options.issuer, user.email, secret).toString();
      // Loaded on first use: few requests need it, and every process start would pay for it.
      const { default: QRCode } = await import('qrcode');
      const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return { secret, uri, qrCodeSvg: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
    },

    /** Finishes enrolment with a code from the app; returns new recovery codes (shown once). */
    async confirm(user: UserRow, code: string): Promise<string[]> {
      if (!user.totpPendingSecret) throw new BadUserInputError('Start with enrollTotp.', 'code');
      const step = matchingStep(user.totpPendingSecret, code.trim(), now());
      if (step === undefined) throw new StrongroomError('INVALID_CODE', 'This code does not match; check the time on the device.', { attemptsLeft: null });
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
      await db.transaction(async (tx) => {
        await tx
          .update(users)
          .set({ totpSecret: user.totpPendingSecret, totpPendingSecret: null, totpLastStep: step, updatedAt: now() })
          .where(eq(users.id, user.id));
        await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, user.id));
        await tx.insert(recoveryCodes).values(codes.map((c) => ({ userId: user.id, codeHash: sha256(normalizeRecovery(c)), createdAt: now() })));
      });
      return codes;
    },

    /** Accepts a TOTP code once: the step must be later than the last one accepted (no replay). */
    async verify(user: UserRow, code: string): Promise<boolean> {
      if (!user.totpSecret) return false;
      const step = matchingStep(user.totpSecret, code.trim(), now());
      if (step === undefined) return false;
      const updated = await db
        .update(users)
        .set({ totpLastStep: step })
        .where(and(eq(users.id, user.id), sql`coalesce(${users.totpLastStep}, -1) < ${step}`))
        .returning({ id: users.id });
      return updated.length === 1;
    },

    /** Spends a recovery code; false when it is unknown or already used. */
    async useRecoveryCode(userId: string, code: string): Promise<boolean> {
      const used = await db
        .update(recoveryCodes)
        .set({ usedAt: now() })
        .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, sha256(normalizeRecovery(code))), isNull(recoveryCodes.usedAt)))
        .returning({ id: recoveryCodes.id });
      return used.length === 1;
    },

    async recoveryCodesLeft(userId: string): Promise<number> {
      const [row] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
      return row?.n ?? 0;
    },
  };
}

export type Totp = ReturnType<typeof createTotp>;
