/** Tables of the `reporting` schema (data database). */
import { sql } from 'drizzle-orm';
import { customType, index, integer, jsonb, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const reporting = pgSchema('reporting');

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** Lifecycle of a report job; see src/services/reports/job-state.ts for the state machine. */
export const reportJobStatus = reporting.enum('report_job_status', ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

/** A report someone asked for: its parameters, its progress and, once done, its output. */
export const reportJobs = reporting.table(
  'report_jobs',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    /** auth.users.id of the owner; no foreign key because the auth database may be elsewhere. */
    ownerId: uuid('owner_id').notNull(),
    kind: text('kind').notNull(),
    /** PDF, HTML or CSV. */
    format: text('format').notNull().default('PDF'),
    parameters: jsonb('parameters').notNull().default({}),
    status: reportJobStatus('status').notNull().default('QUEUED'),
    progress: integer('progress').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** `{ code, message }` of a FAILED or TIMED_OUT job. */
    error: jsonb('error'),
    /** Render attempts so far (a claim counts one); bounded by max_attempts. */
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    /** The render process holding the job while RUNNING, and until when (renewed while it renders). */
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    output: bytea('output'),
    outputType: text('output_type'),
    /** Bytes of `output`, and pages of a PDF (appendices included). */
    byteSize: integer('byte_size'),
    pageCount: integer('page_count'),
    /** SHA-256 of `output` (base64url): the download's ETag. */
    outputSha256: text('output_sha256'),
  },
  (t) => [
    index('report_jobs_owner_created_idx').on(t.ownerId, t.createdAt),
    index('report_jobs_status_idx').on(t.status),
    // What a render process scans to claim work: queued jobs, oldest first.
    index('report_jobs_queued_idx').on(t.createdAt).where(sql`${t.status} = 'QUEUED'`),
    // Finished jobs past their retention, for the sweeper.
    index('report_jobs_finished_idx').on(t.finishedAt).where(sql`${t.finishedAt} is not null`),
  ],
);
