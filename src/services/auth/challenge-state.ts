/**
 * A sign-in challenge is a state machine:
 *
 *   PENDING ──right code──▶ VERIFIED
 *      │ └──too many wrong codes──▶ FAILED
 *      └──time passes──▶ EXPIRED
 *
 * The row stores PENDING, VERIFIED or FAILED; EXPIRED is derived from the clock, so no
 * sweeper is needed. Callers `switch` on `phase` and must handle every one.
 */
export type ChallengeReason = 'NEW_IP' | 'NEW_DEVICE' | 'STEP_UP';

export interface ChallengeRow {
  readonly id: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly reason: string;
  readonly ip: string;
  readonly deviceId: string;
  readonly deviceLabel: string | null;
  readonly codeHash: string;
  readonly delivery: string;
  readonly noticeSent: boolean;
  readonly attempts: number;
  readonly status: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly finishedAt: Date | null;
}

export type ChallengeState =
  | { readonly phase: 'PENDING'; readonly row: ChallengeRow; readonly attemptsLeft: number }
  | { readonly phase: 'VERIFIED'; readonly row: ChallengeRow; readonly verifiedAt: Date }
  | { readonly phase: 'FAILED'; readonly row: ChallengeRow }
  | { readonly phase: 'EXPIRED'; readonly row: ChallengeRow; readonly recorded: boolean };

/** Thrown by exhaustive switches when a phase was forgotten (the compiler catches it first). */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}

/** The state of a challenge at `now`, given at most `maxAttempts` wrong codes. */
export function challengeState(row: ChallengeRow, now: Date, maxAttempts: number): ChallengeState {
  switch (row.status) {
    case 'VERIFIED':
      return { phase: 'VERIFIED', row, verifiedAt: row.finishedAt ?? row.createdAt };
    case 'FAILED':
      return { phase: 'FAILED', row };
    case 'EXPIRED':
      return { phase: 'EXPIRED', row, recorded: true };
    case 'PENDING':
      if (now.getTime() >= row.expiresAt.getTime()) return { phase: 'EXPIRED', row, recorded: false };
      if (row.attempts >= maxAttempts) return { phase: 'FAILED', row };
      return { phase: 'PENDING', row, attemptsLeft: maxAttempts - row.attempts };
    default:
      throw new TypeError(`challenge ${row.id} has an unknown status ${row.status}`);
  }
}
