/**
 * The report_jobs table as a queue any process can work from: inserts bounded by a queue
 * limit, claims with `FOR UPDATE SKIP LOCKED` under a lease, renewals, and the moves of the
 * state machine in job-state.ts. Every move names the state it leaves (`where status = …`, and
 * for a running job its lease owner), so a move that lost a race changes nothing and says so.
 * Times come from the database's clock, which every process shares.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { JobError, JobRow } from './job-state.ts';

/** Columns of a JobRow (never the output bytes). */
const COLUMNS = sql.raw(
  'id, owner_id, kind, format, parameters, status, progress, created_at, started_at, finished_at, error, attempts, max_attempts, lease_owner, lease_expires_at, byte_size, page_count, output_sha256',
);

type Raw = Record<string, unknown>;

const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

function toRow(r: Raw): JobRow {
  return {
    id: String(r.id),
    ownerId: String(r.owner_id),
    kind: String(r.kind),
    format: String(r.format),
    parameters: r.parameters,
    status: String(r.status),
    progress: Number(r.progress),
    createdAt: date(r.created_at)!,
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
    error: (r.error as JobError | null) ?? null,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseExpiresAt: date(r.lease_expires_at),
    byteSize: r.byte_size === null ? null : Number(r.byte_size),
    pageCount: r.page_count === null ? null : Number(r.page_count),
    outputSha256: (r.output_sha256 as string | null) ?? null,
  };
}

export interface NewJob {
  readonly ownerId: string;
  readonly kind: string;
  readonly format: string;
  readonly parameters: unknown;
  readonly maxAttempts: number;
}

export interface JobOutput {
  readonly bytes: Uint8Array;
  readonly contentType: string;
  readonly pageCount: number | null;
  readonly sha256: string;
}

/** Outcome of an insert under the queue limit. */
export type InsertResult = { readonly inserted: true; readonly row: JobRow } | { readonly inserted: false; readonly queued: number };

export interface ListPage {
  readonly rows: JobRow[];
  readonly hasNextPage: boolean;
}

export function createJobStore(db: NodePgDatabase) {
  const rows = async (query: SQL) => ((await db.execute(query)).rows as Raw[]).map(toRow);
  const first = async (query: SQL) => (await rows(query))[0];

  return {
    /**
     * Inserts a QUEUED job unless `maxQueued` jobs are already queued (across every process):
     * the count and the insert happen under one advisory lock, so a burst cannot overshoot it.
     */
    insert(job: NewJob, maxQueued: number): Promise<InsertResult> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext('strongroom:report-queue'))`);
        const counted = await tx.execute(sql`select count(*)::int as n from reporting.report_jobs where status = 'QUEUED'`);
        const queued = Number((counted.rows[0] as Raw).n);
        if (queued >= maxQueued) return { inserted: false, queued } as const;
        const inserted = await tx.execute(
          // clock_timestamp(), not now(): jobs queued in one transaction still list in the order they were asked for.
          sql`insert into reporting.report_jobs (owner_id, kind, format, parameters, max_attempts, created_at)
              values (${job.ownerId}, ${job.kind}, ${job.format}, ${JSON.stringify(job.parameters)}::jsonb, ${job.maxAttempts}, clock_timestamp())
              returning ${COLUMNS}`,
        );
        return { inserted: true, row: toRow(inserted.rows[0] as Raw) } as const;
      });
    },

    get: (id: string) => first(sql`select ${COLUMNS} from reporting.report_jobs where id = ${id}`),

    /**
     * A page of jobs, newest first, after the job `afterId` (the previous page's last); all
     * owners when ownerId is null. The keyset is read from that row itself, so it keeps the
     * database's microseconds (a cursor with JavaScript's milliseconds could skip rows).
     */
    async list(ownerId: string | null, limit: number, afterId: string | null): Promise<ListPage> {
      const owner = ownerId === null ? sql`true` : sql`owner_id = ${ownerId}`;
      const keyset = afterId === null ? sql`true` : sql`(created_at, id) < (select created_at, id from reporting.report_jobs where id = ${afterId}::uuid)`;
      const found = await rows(
        sql`select ${COLUMNS} from reporting.report_jobs where ${owner} and ${keyset} order by created_at desc, id desc limit ${limit + 1}`,
      );
      return { rows: found.slice(0, limit), hasNextPage: found.length > limit };
    },

    /** Claims the oldest QUEUED job for `owner` under a lease; undefined when none is free. */
    claim: (owner: string, leaseSeconds: number) =>
      first(sql`update reporting.report_jobs j
                set status = 'RUNNING', lease_owner = ${owner}, lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
                    attempts = j.attempts + 1, started_at = coalesce(j.started_at, now()), progress = 0
                where j.id = (select id from reporting.report_jobs where status = 'QUEUED'
                              order by created_at for update skip locked limit 1)
                returning ${COLUMNS}`),

    /** Extends the lease; false when the job is no longer ours (cancelled, or reclaimed after our lease ran out). */
    async renew(id: string, owner: string, leaseSeconds: number): Promise<boolean> {
      const result = await db.execute(
        sql`update reporting.report_jobs set lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
            where id = ${id} and status = 'RUNNING' and lease_owner = ${owner}`,
      );
      return (result.rowCount ?? 0) > 0;
    },

    async progress(id: string, owner: string, progress: number): Promise<boolean> {
      const result = await db.execute(
        sql`update reporting.report_jobs set progress = ${progress} where id = ${id} and status = 'RUNNING' and lease_owner = ${owner}`,
      );
      return (result.rowCount ?? 0) > 0;
    },

    /** RUNNING → SUCCEEDED with its output; false when the job was no longer ours. */
    async succeed(id: string, owner: string, output: JobOutput): Promise<boolean> {
      const result = await db.execute(
        sql`update reporting.report_jobs
            set status = 'SUCCEEDED', progress = 100, finished_at = now(), error = null, lease_owner = null, lease_expires_at = null,
                output = ${Buffer.from(output.bytes.buffer, output.bytes.byteOffset, output.bytes.byteLength)}, output_type = ${output.contentType},
                byte_size = ${output.bytes.byteLength}, page_count = ${output.pageCount}, output_sha256 = ${output.sha256}
            where id = ${id} and status = 'RUNNING' and lease_owner = ${owner}`,
      );
      return (result.rowCount ?? 0) > 0;
    },

    /** RUNNING → FAILED or TIMED_OUT. */
    async fail(id: string, owner: string, status: 'FAILED' | 'TIMED_OUT', error: JobError): Promise<boolean> {
      const result = await db.execute(
        sql`update reporting.report_jobs
            set status = ${status}::reporting.report_job_status, error = ${JSON.stringify(error)}::jsonb, finished_at = now(),
                lease_owner = null, lease_expires_at = null
            where id = ${id} and status = 'RUNNING' and lease_owner = ${owner}`,
      );
      return (result.rowCount ?? 0) > 0;
    },

    /**
     * RUNNING → QUEUED for another attempt. `counted: false` gives the attempt back (the
     * process is shutting down, or the worker pool was too busy to start it).
     */
    async requeue(id: string, owner: string, counted: boolean): Promise<boolean> {
      const result = await db.execute(
        sql`update reporting.report_jobs
            set status = 'QUEUED', progress = 0, lease_owner = null, lease_expires_at = null,
                attempts = case when ${counted} then attempts else greatest(attempts - 1, 0) end
            where id = ${id} and status = 'RUNNING' and lease_owner = ${owner}`,
      );
      return (result.rowCount ?? 0) > 0;
    },

    /**
     * RUNNING jobs whose lease ran out (their process died or hung): back to QUEUED while
     * attempts remain, else FAILED with RENDER_FAILED. Returns how many of each.
     */
    async reclaimExpired(): Promise<{ requeued: number; failed: number }> {
      const result = await db.execute(
        sql`update reporting.report_jobs
            set status = case when attempts < max_attempts then 'QUEUED' else 'FAILED' end::reporting.report_job_status,
                error = case when attempts < max_attempts then null
                             else jsonb_build_object('code', 'RENDER_FAILED', 'message', 'The process rendering the report stopped, on every attempt.') end,
                finished_at = case when attempts < max_attempts then null else now() end,
                progress = case when attempts < max_attempts then 0 else progress end,
                lease_owner = null, lease_expires_at = null
            where status = 'RUNNING' and lease_expires_at < now()
            returning status`,
      );
      const statuses = (result.rows as Raw[]).map((r) => r.status);
      return { requeued: statuses.filter((s) => s === 'QUEUED').length, failed: statuses.filter((s) => s === 'FAILED').length };
    },

    /** QUEUED or RUNNING → CANCELLED for the owner (any owner when ownerId is null); undefined when nothing changed. */
    cancel: (id: string, ownerId: string | null) =>
      first(sql`update reporting.report_jobs
                set status = 'CANCELLED', finished_at = now(), lease_owner = null, lease_expires_at = null
                where id = ${id} and status in ('QUEUED', 'RUNNING') and ${ownerId === null ? sql`true` : sql`owner_id = ${ownerId}`}
                returning ${COLUMNS}`),

    /** Deletes at most `batch` jobs that finished more than `hours` ago; returns how many. */
    async sweep(hours: number, batch: number): Promise<number> {
      const result = await db.execute(
        sql`delete from reporting.report_jobs where id in (
              select id from reporting.report_jobs where finished_at < now() - make_interval(hours => ${hours})
              order by finished_at limit ${batch})`,
      );
      return result.rowCount ?? 0;
    },

    /** The output of a SUCCEEDED job, whole or the bytes [start, end] inclusive. */
    async output(id: string, range?: { start: number; end: number }): Promise<Buffer | undefined> {
      const body = range ? sql`substring(output from ${range.start + 1} for ${range.end - range.start + 1})` : sql`output`;
      const result = await db.execute(sql`select ${body} as body from reporting.report_jobs where id = ${id} and status = 'SUCCEEDED'`);
      const row = result.rows[0] as Raw | undefined;
      return row ? (row.body as Buffer) : undefined;
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
