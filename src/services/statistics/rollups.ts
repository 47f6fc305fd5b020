/**
 * Rebuilding and checking the licence event rollups from the raw events (`npm run rollups`).
 * Both recount through `reporting.add_licence_event_counts`, the function the trigger uses, so
 * the definition of the levels lives in one place.
 *
 * The trigger keeps the rollups current on every write, so neither is needed in normal
 * operation: rebuild after restoring events without triggers (`session_replication_role =
 * replica`, a logical-replication subscriber), after a bug, or to drop rows left at 0 by deletes.
 */
import type pg from 'pg';
import { WEEK_SECONDS } from './calendar.ts';
import { ROLLUP_ORIGIN } from './buckets.ts';

/** Week-aligned bounds (UTC seconds) of the buckets a batch owns: [from, to). */
interface Scope {
  readonly from: number;
  readonly to: number;
  /** Only these applications' series; undefined: all. */
  readonly applications?: readonly string[];
}

const weekOf = (seconds: number) => ROLLUP_ORIGIN + Math.floor((seconds - ROLLUP_ORIGIN) / WEEK_SECONDS) * WEEK_SECONDS;

/**
 * Replaces the rollup rows of every bucket starting in [from, to) by counts of the raw events in
 * that span. Week-aligned bounds make those buckets exactly the ones holding those events.
 * Runs on `client` inside the caller's transaction.
 */
async function recount(client: pg.PoolClient, scope: Scope): Promise<void> {
  const apps = scope.applications ?? null;
  await client.query(
    `delete from reporting.licence_event_rollups
      where bucket_start >= to_timestamp($1) and bucket_start < to_timestamp($2)
        and ($3::text[] is null or series in (select id from reporting.licence_event_series where application = any($3::text[])))`,
    [scope.from, scope.to, apps],
  );
  await client.query(
    `insert into reporting.licence_event_series (application, source, kind)
     select distinct e.application, e.source, e.kind from licensing.licence_events as e
      where e.occurred_at >= to_timestamp($1) and e.occurred_at < to_timestamp($2) and ($3::text[] is null or e.application = any($3::text[]))
        and not exists (select 1 from reporting.licence_event_series as s where s.application = e.application and s.source = e.source and s.kind = e.kind)
      order by 1, 2, 3
     on conflict do nothing`,
    [scope.from, scope.to, apps],
  );
  await client.query(
    `select reporting.add_licence_event_counts(array_agg(h.hour), array_agg(h.series), array_agg(h.events))
       from (
         select date_bin('1 hour', e.occurred_at, to_timestamp($4)) as hour, s.id as series, count(*) as events
           from licensing.licence_events as e
           join reporting.licence_event_series as s on s.application = e.application and s.source = e.source and s.kind = e.kind
          where e.occurred_at >= to_timestamp($1) and e.occurred_at < to_timestamp($2) and ($3::text[] is null or e.application = any($3::text[]))
          group by 1, 2
       ) as h`,
    [scope.from, scope.to, apps, ROLLUP_ORIGIN],
  );
}

async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, commit = true): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query(commit ? 'commit' : 'rollback');
    client.release();
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    client.release(err as Error);
    throw err;
  }
}

/** Writers wait while a batch recounts, so that no event is counted twice or missed. */
const LOCK_EVENTS = 'lock table licensing.licence_events in share mode';

/** The week-aligned span of all events, or undefined when there are none. */
async function eventSpan(pool: pg.Pool): Promise<{ from: number; to: number } | undefined> {
  const { rows } = await pool.query<{ first: string | null; last: string | null }>(
    'select extract(epoch from min(occurred_at))::float8 as first, extract(epoch from max(occurred_at))::float8 as last from licensing.licence_events',
  );
  const { first, last } = rows[0]!;
  if (first === null || last === null) return undefined;
  return { from: weekOf(Number(first)), to: weekOf(Number(last)) + WEEK_SECONDS };
}

export interface RebuildOptions {
  /** One transaction for everything (writers wait throughout) instead of resumable batches. */
  readonly singleTransaction?: boolean;
  /** Weeks per batch (each its own transaction); default 4. */
  readonly batchWeeks?: number;
  /** Start at this instant's week (to resume an interrupted rebuild); earlier rollups are left alone. */
  readonly from?: Date;
  /** Called after each batch with the weeks done, the weeks in all, and where a resumed rebuild would start. */
  readonly onProgress?: (done: number, total: number, resumeFrom: Date) => void;
}

export interface RebuildResult {
  readonly weeks: number;
  readonly batches: number;
}

/**
 * Recounts the rollups from the raw events. In batches (the default), each batch of weeks is
 * its own transaction: an interrupted rebuild leaves every committed batch right and can be
 * resumed with `from`. Rollup rows outside the span of the events are removed first.
 */
export async function rebuildRollups(pool: pg.Pool, options: RebuildOptions = {}): Promise<RebuildResult> {
  const span = await eventSpan(pool);
  const batchWeeks = options.batchWeeks ?? 4;
  if (!Number.isInteger(batchWeeks) || batchWeeks < 1) throw new TypeError('batchWeeks must be a positive integer');
  if (!span) {
    await inTransaction(pool, async (client) => {
      await client.query(LOCK_EVENTS);
      await client.query('delete from reporting.licence_event_rollups');
    });
    return { weeks: 0, batches: 0 };
  }
  const start = options.from ? Math.max(span.from, weekOf(options.from.getTime() / 1000)) : span.from;
  const weeks = Math.max(0, (span.to - start) / WEEK_SECONDS);
  if (options.singleTransaction) {
    await inTransaction(pool, async (client) => {
      await client.query(LOCK_EVENTS);
      await client.query('delete from reporting.licence_event_rollups where bucket_start >= to_timestamp($1) or bucket_start < to_timestamp($2)', [
        span.to,
        span.from,
      ]);
      await recount(client, { from: start, to: span.to });
    });
    options.onProgress?.(weeks, weeks, new Date(span.to * 1000));
    return { weeks, batches: 1 };
  }
  await inTransaction(pool, async (client) => {
    await client.query(LOCK_EVENTS);
    await client.query('delete from reporting.licence_event_rollups where bucket_start >= to_timestamp($1) or bucket_start < to_timestamp($2)', [
      span.to,
      span.from,
    ]);
  });
  let batches = 0;
  options.onProgress?.(0, weeks, new Date(start * 1000));
  for (let from = start; from < span.to; from += batchWeeks * WEEK_SECONDS) {
    const to = Math.min(span.to, from + batchWeeks * WEEK_SECONDS);
    await inTransaction(pool, async (client) => {
      await client.query(LOCK_EVENTS);
      await recount(client, { from, to });
    });
    batches++;
    options.onProgress?.((to - start) / WEEK_SECONDS, weeks, new Date(to * 1000));
  }
  return { weeks, batches };
}

/** A rollup row that differs from the raw events' count. */
export interface RollupDifference {
  readonly bucketSeconds: number;
  readonly bucketStart: Date;
  readonly application: string;
  readonly source: string;
  readonly kind: string;
  readonly stored: number;
  readonly expected: number;
}

/**
 * Compares the rollups with a recount of the raw events (optionally of some applications only),
 * without changing anything: the recount runs in a transaction that is rolled back. Rows at 0
 * count as absent. Returns at most `limit` differences and how many there are.
 */
export async function checkRollups(
  pool: pg.Pool,
  options: { readonly applications?: readonly string[]; readonly limit?: number } = {},
): Promise<{ differences: RollupDifference[]; count: number }> {
  const span = await eventSpan(pool);
  const rows = `select r.bucket_seconds, r.bucket_start, s.application, s.source, s.kind, r.events
                  from reporting.licence_event_rollups as r join reporting.licence_event_series as s on s.id = r.series
                 where r.events <> 0 and ($1::text[] is null or s.application = any($1::text[]))`;
  return inTransaction(
    pool,
    async (client) => {
      const apps = options.applications ?? null;
      await client.query(LOCK_EVENTS);
      await client.query(`create temporary table stored_rollups on commit drop as ${rows}`, [apps]);
      await client.query(
        'delete from reporting.licence_event_rollups where series in (select id from reporting.licence_event_series where $1::text[] is null or application = any($1::text[]))',
        [apps],
      );
      if (span) await recount(client, { from: span.from, to: span.to, ...(options.applications ? { applications: options.applications } : {}) });
      const { rows: found } = await client.query<{
        bucket_seconds: number;
        bucket_start: Date;
        application: string;
        source: string;
        kind: string;
        stored: string | null;
        expected: string | null;
        total: string;
      }>(
        `with expected as (${rows}),
         differences as (
           select coalesce(e.bucket_seconds, s.bucket_seconds) as bucket_seconds, coalesce(e.bucket_start, s.bucket_start) as bucket_start,
                  coalesce(e.application, s.application) as application, coalesce(e.source, s.source) as source, coalesce(e.kind, s.kind) as kind,
                  s.events as stored, e.events as expected
             from expected as e
             full join stored_rollups as s using (bucket_seconds, bucket_start, application, source, kind)
            where e.events is distinct from s.events
         )
         select *, count(*) over () as total from differences order by bucket_seconds, bucket_start, application, source, kind limit $2`,
        [apps, options.limit ?? 20],
      );
      return {
        count: found.length > 0 ? Number(found[0]!.total) : 0,
        differences: found.map((r) => ({
          bucketSeconds: r.bucket_seconds,
          bucketStart: r.bucket_start,
          application: r.application,
          source: r.source,
          kind: r.kind,
          stored: Number(r.stored ?? 0),
          expected: Number(r.expected ?? 0),
        })),
      };
    },
    false,
  );
}
