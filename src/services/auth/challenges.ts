/** The store of sign-in challenge rows (see challenge-state.ts for their states). */
import { randomInt, randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import { challenges } from '../../db/schema/auth.ts';
import type { ChallengeReason, ChallengeRow } from './challenge-state.ts';
import type { Executor } from './executor.ts';

/** Whether the code mail reached the mail server; `NOT_SENT` when the user turned mailed codes off. */
export type Delivery = 'SENT' | 'FAILED' | 'NOT_SENT';

/**
 * How a mailed code is stored: an HMAC under the keyring's code key (a 6-digit code's bare
 * SHA-256 is reversed by trying a million values), bound to its challenge, so a code never
 * answers another one.
 */
export const codeHash = (cipher: FieldCipher, challengeId: string, code: string) => cipher.hashCode(`${challengeId}:${code}`);

/** A hash no code matches: what a challenge holds while no code has been mailed for it. */
export const noCodeHash = (cipher: FieldCipher, challengeId: string) => codeHash(cipher, challengeId, randomUUID());

/** A new mailed code of `length` digits. */
export const newCode = (length: number) => String(randomInt(0, 10 ** length)).padStart(length, '0');

/**
 * Whether `code` is the challenge's mailed code (compared in constant time). A challenge
 * stored before codes were keyed holds a bare SHA-256, which nothing matches: it expires
 * within SIGN_IN_CODE_TTL_SECONDS, or a resend gives it a keyed code.
 */
export function isMailedCode(cipher: FieldCipher, row: ChallengeRow, code: string): boolean {
  return cipher.matchesCode(`${row.id}:${code}`, row.codeHash);
}

export interface NewChallenge {
  readonly id: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly reason: ChallengeReason;
  readonly ip: string;
  readonly deviceHash: string;
  readonly deviceLabel: string | null;
  readonly codeHash: string;
  readonly delivery: Delivery;
  readonly expiresAt: Date;
}

export function createChallengeStore(ex: Executor, now: () => Date) {
  return {
    async insert(c: NewChallenge): Promise<ChallengeRow> {
      const { deviceHash, ...rest } = c;
      const [row] = await ex
        .insert(challenges)
        .values({ ...rest, deviceId: deviceHash, createdAt: now() })
        .returning();
      return row!;
    },

    async find(id: string): Promise<ChallengeRow | undefined> {
      const [row] = await ex.select().from(challenges).where(eq(challenges.id, id)).limit(1);
      return row;
    },

    /** The challenge, locked until the transaction ends: answers to one challenge take turns. */
    async lock(id: string): Promise<ChallengeRow | undefined> {
      const [row] = await ex.select().from(challenges).where(eq(challenges.id, id)).limit(1).for('update');
      return row;
    },

    async countAttempt(row: ChallengeRow): Promise<number> {
      const attempts = row.attempts + 1;
      await ex.update(challenges).set({ attempts }).where(eq(challenges.id, row.id));
      return attempts;
    },

    /** Moves a PENDING challenge to `status`; false when it was no longer pending. */
    async finish(id: string, status: 'VERIFIED' | 'FAILED' | 'EXPIRED', at: Date): Promise<boolean> {
      const done = await ex
        .update(challenges)
        .set({ status, finishedAt: at })
        .where(and(eq(challenges.id, id), eq(challenges.status, 'PENDING')))
        .returning({ id: challenges.id });
      return done.length === 1;
    },

    /** A new mailed code replaces the old one (stored before the mail goes out); false when the challenge is no longer pending. */
    async setCode(id: string, hash: string): Promise<boolean> {
      const set = await ex
        .update(challenges)
        .set({ codeHash: hash, delivery: 'FAILED' })
        .where(and(eq(challenges.id, id), eq(challenges.status, 'PENDING')))
        .returning({ id: challenges.id });
      return set.length === 1;
    },

    /** What became of the mail, once it was tried. */
    async setDelivery(id: string, delivery: Delivery, noticeSent: boolean): Promise<ChallengeRow | undefined> {
      const [row] = await ex.update(challenges).set({ delivery, noticeSent }).where(eq(challenges.id, id)).returning();
      return row;
    },
  };
}

export type ChallengeStore = ReturnType<typeof createChallengeStore>;
