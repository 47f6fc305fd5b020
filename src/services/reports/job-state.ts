/**
 * A report job is a state machine over `reporting.report_jobs`:
 *
 *   QUEUED ──claimed by a render process──▶ RUNNING ──▶ SUCCEEDED
 *     ▲  │                                    │  │ └──▶ FAILED     (renderer unavailable, bad data,
 *     │  └──cancelReport──▶ CANCELLED ◀───────┘  │                  or the last attempt broke)
 *     │                                          └──▶ TIMED_OUT  (an attempt overran its limit)
 *     └── an attempt broke (Chromium died) or its render process went away (lease expired),
 *         with attempts left; the process shutting down hands it back uncounted
 *
 * The row stores the status; a RUNNING row whose lease has expired belongs to nobody and is
 * handed back (or failed, with no attempts left) by the next render loop that looks, so nothing
 * stays RUNNING after its process is gone. Callers `switch` on `phase` and handle every one.
 */
import { UnreachableCaseError } from '../auth/challenge-state.ts';

export type ReportStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export const REPORT_STATUSES: readonly ReportStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/** A job's error, as stored and shown: a code from ERROR_CODES and a message for people. */
export interface JobError {
  readonly code: string;
  readonly message: string;
}

/** A report_jobs row without its output bytes. */
export interface JobRow {
  readonly id: string;
  readonly ownerId: string;
  readonly kind: string;
  readonly format: string;
  readonly parameters: unknown;
  readonly status: string;
  readonly progress: number;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly error: JobError | null;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: Date | null;
  readonly byteSize: number | null;
  readonly pageCount: number | null;
  readonly outputSha256: string | null;
}

export type JobState =
  | { readonly phase: 'QUEUED'; readonly row: JobRow }
  | { readonly phase: 'RUNNING'; readonly row: JobRow; readonly leaseOwner: string; readonly leaseExpiresAt: Date }
  | { readonly phase: 'SUCCEEDED'; readonly row: JobRow; readonly finishedAt: Date; readonly byteSize: number; readonly sha256: string }
  | { readonly phase: 'FAILED'; readonly row: JobRow; readonly error: JobError }
  | { readonly phase: 'CANCELLED'; readonly row: JobRow }
  | { readonly phase: 'TIMED_OUT'; readonly row: JobRow; readonly error: JobError };

const UNKNOWN_ERROR: JobError = { code: 'INTERNAL_SERVER_ERROR', message: 'The report failed.' };

/** The state of a stored job. */
export function jobState(row: JobRow): JobState {
  const status = row.status as ReportStatus;
  switch (status) {
    case 'QUEUED':
      return { phase: 'QUEUED', row };
    case 'RUNNING':
      return { phase: 'RUNNING', row, leaseOwner: row.leaseOwner ?? '', leaseExpiresAt: row.leaseExpiresAt ?? row.startedAt ?? row.createdAt };
    case 'SUCCEEDED':
      return { phase: 'SUCCEEDED', row, finishedAt: row.finishedAt ?? row.createdAt, byteSize: row.byteSize ?? 0, sha256: row.outputSha256 ?? '' };
    case 'FAILED':
      return { phase: 'FAILED', row, error: row.error ?? UNKNOWN_ERROR };
    case 'CANCELLED':
      return { phase: 'CANCELLED', row };
    case 'TIMED_OUT':
      return { phase: 'TIMED_OUT', row, error: row.error ?? { code: 'TIMEOUT', message: 'The report did not finish in time.' } };
    default:
      throw new UnreachableCaseError(status);
  }
}

/** Whether the job will change no more (its row is only deleted, by the sweeper). */
export function isFinished(state: JobState): boolean {
  switch (state.phase) {
    case 'QUEUED':
    case 'RUNNING':
      return false;
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
    case 'TIMED_OUT':
      return true;
    default:
      throw new UnreachableCaseError(state);
  }
}

/** The statuses `cancelReport` can move to CANCELLED. */
export const CANCELLABLE: readonly ReportStatus[] = ['QUEUED', 'RUNNING'];
