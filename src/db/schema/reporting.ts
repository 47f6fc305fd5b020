/** Tables of the `reporting` schema (data database). */
import { sql } from 'drizzle-orm';
import { customType, index, integer, jsonb, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const reporting = pgSchema('reporting');

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** The states of a report job, from QUEUED to SUCCEEDED, FAILED or CANCELLED. Nothing runs report jobs yet: the service that will move them is still to be written. */
export const reportJobStatus = reporting.enum('report_job_status', ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);

/** A report someone asked for: its parameters, its progress and, once done, its output. */
export const reportJobs = reporting.table(
  'report_jobs',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    /** auth.users.id of the owner; no foreign key because the auth database may be elsewhere. */
    ownerId: uuid('owner_id').notNull(),
    kind: text('kind').notNull(),
    parameters: jsonb('parameters').notNull().default({}),
    status: reportJobStatus('status').notNull().default('QUEUED'),
    progress: integer('progress').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    error: jsonb('error'),
    output: bytea('output'),
    outputType: text('output_type'),
  },
  (t) => [index('report_jobs_owner_created_idx').on(t.ownerId, t.createdAt), index('report_jobs_status_idx').on(t.status)],
);
