/**
 * The SQL of the statistics service. Every value a client sent travels as a parameter; time
 * zones are looked up in PostgreSQL's own tz database, which is the reference the answers must
 * agree with (Node's ICU data may be of another tzdata release).
 */
import type pg from 'pg';
import { DAY_SECONDS } from './calendar.ts';
import type { Piece, RawWindow, Timeline } from './buckets.ts';

/** A pool, or a client leased from one (inside a transaction). */
type Queryable = pg.Pool | pg.PoolClient;

/** Every zone name PostgreSQL accepts (`pg_timezone_names`), keyed by its lower-case form. */
export async function timeZoneNames(pool: pg.Pool): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ name: string }>('select name from pg_timezone_names');
  return new Map(rows.map((r) => [r.name.toLowerCase(), r.name]));
}

/**
 * How often the offset is sampled before bisecting to the second. tzdata's closest pair of
 * offset changes in one zone are four days apart (Africa/Freetown, 1939), so at most one
 * change falls between two samples and bisection finds it.
 */
export const TIMELINE_STEP = DAY_SECONDS;

/**
 * The zone's UTC offset at `start` and every change of it up to `end` (UTC seconds; changes
 * happen on whole seconds). Offsets are PostgreSQL's: local wall-clock seconds minus UTC
 * seconds of the same instant.
 */
const TIMELINE_SQL = `
with recursive
samples as (
  select g.t, (extract(epoch from to_timestamp(g.t) at time zone $1))::bigint - g.t as o
    from (select generate_series($2::bigint, $3::bigint, $4::bigint) as t union select $3::bigint) as g
),
steps as (
  select lag(t) over w as a, t as b, lag(o) over w as oa, o as ob from samples window w as (order by t)
),
search (a, b, oa, ob) as (
  select a, b, oa, ob from steps where oa <> ob
  union all
  select case when m.o = s.oa then m.t else s.a end, case when m.o = s.oa then s.b else m.t end, s.oa, s.ob
    from search as s
   cross join lateral (select (s.a + s.b) / 2 as t) as mid
   cross join lateral (select mid.t, (extract(epoch from to_timestamp(mid.t) at time zone $1))::bigint - mid.t as o) as m
   where s.b - s.a > 1
)
select $2::bigint as at, (select o from samples where t = $2::bigint) as "offset"
union all
select b, ob from search where b - a = 1
order by 1`;

export async function timeline(pool: pg.Pool, timeZone: string, start: number, end: number): Promise<Timeline> {
  const { rows } = await pool.query<{ at: string; offset: string }>(TIMELINE_SQL, [timeZone, start, end, TIMELINE_STEP]);
  return { start, end, offsets: rows.map((r) => ({ at: Number(r.at), offset: Number(r.offset) })) };
}

/** Which table a count belongs to. */
export type CountSet = 'application' | 'source' | 'kind';

/** One aggregated count: events of an application or a source in week `label`, or of a kind over the range (label -1). */
export interface CountRow {
  readonly set: CountSet;
  readonly label: number;
  readonly name: string;
  readonly events: number;
}

/**
 * Events per (week, application), (week, source) and (kind), in one statement (one snapshot,
 * so rollups and raw events agree with each other): signed rollup buckets plus signed raw
 * windows, filtered by the applications and sources given (null: all).
 */
const COUNTS_SQL = `
with
series as materialized (
  select id, application, source, kind from reporting.licence_event_series
   where ($9::text[] is null or application = any($9::text[])) and ($10::text[] is null or source = any($10::text[]))
),
pieces as (select * from unnest($1::int4[], $2::int8[], $3::int4[], $4::int4[]) as p(seconds, start, label, coef)),
windows as (select * from unnest($5::int8[], $6::int8[], $7::int4[], $8::int4[]) as w(lo, hi, label, coef)),
spans as materialized (select distinct lo, hi from windows),
-- Raw events per window (an index range scan each), grouped before they are named by series.
span_events as materialized (
  select sp.lo, sp.hi, e.application, e.source, e.kind, count(*) as events
    from spans as sp
   cross join lateral (
     select application, source, kind from licensing.licence_events
      where occurred_at >= to_timestamp(sp.lo) and occurred_at < to_timestamp(sp.hi)
   ) as e
   group by 1, 2, 3, 4, 5
),
buckets as (select distinct seconds, start from pieces),
-- Each bucket is read once, however many weeks it counts towards.
bucket_rows as materialized (
  select b.seconds, b.start, r.series, r.events
    from buckets as b
   cross join lateral (
     select series, events from reporting.licence_event_rollups
      where bucket_seconds = b.seconds and bucket_start = to_timestamp(b.start) and events <> 0
   ) as r
),
contributions as (
  select p.label, br.series, p.coef * br.events as events
    from bucket_rows as br join pieces as p on p.seconds = br.seconds and p.start = br.start
  union all
  select w.label, s.id, w.coef * se.events
    from windows as w
    join span_events as se on se.lo = w.lo and se.hi = w.hi
    join reporting.licence_event_series as s on s.application = se.application and s.source = se.source and s.kind = se.kind
),
-- Summed by series id (narrow keys) before the names come in.
by_series as (select label, series, sum(events) as events from contributions group by 1, 2)
select case grouping(c.label, s.application, s.source, s.kind) when 3 then 'application' when 5 then 'source' else 'kind' end as set,
       coalesce(c.label, -1) as label, coalesce(s.application, s.source, s.kind) as name, sum(c.events)::bigint as events
  from by_series as c join series as s on s.id = c.series
 group by grouping sets ((c.label, s.application), (c.label, s.source), (s.kind))
having sum(c.events) <> 0`;

export async function weeklyCounts(
  pool: pg.Pool,
  pieces: readonly Piece[],
  windows: readonly RawWindow[],
  applications: readonly string[] | null,
  sources: readonly string[] | null,
): Promise<CountRow[]> {
  const client = await pool.connect();
  try {
    await client.query('begin read only');
    // The planner cannot see into the arrays, and guesses small: it would sort thousands of rows
    // it thinks are a handful, and JIT-compile a plan that runs in milliseconds. Hashing is right
    // for every join and grouping here.
    await client.query('set local jit = off; set local enable_sort = off; set local enable_mergejoin = off');
    const { rows } = await client.query<{ set: CountSet; label: number; name: string; events: string }>(COUNTS_SQL, [
      pieces.map((p) => p.seconds),
      pieces.map((p) => p.start),
      pieces.map((p) => p.label),
      pieces.map((p) => p.coef),
      windows.map((w) => w.from),
      windows.map((w) => w.to),
      windows.map((w) => w.label),
      windows.map((w) => w.coef),
      applications,
      sources,
    ]);
    await client.query('commit');
    client.release();
    return rows.map((r) => ({ set: r.set, label: r.label, name: r.name, events: Number(r.events) }));
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
}

/** Licences per application, as of `now`: each counts once, as expired, active or inactive. */
const LICENCE_COUNTS_SQL = `
select application,
       count(*) filter (where expires_at is not null and expires_at <= $1) as expired,
       count(*) filter (where active and (expires_at is null or expires_at > $1)) as active,
       count(*) filter (where not active and (expires_at is null or expires_at > $1)) as inactive
  from licensing.licences
 group by application
 order by application`;

/** Licences that expire after `now` and at most `days` days later: the first `limit`, soonest first, and how many there are. */
const EXPIRING_SQL = `
with expiring as (
  select unique_id, username, application, expires_at, active
    from licensing.licences
   where expires_at > $1 and expires_at <= $1 + make_interval(days => $2)
)
select unique_id, username, application, expires_at, active, (select count(*) from expiring) as total
  from expiring
 order by expires_at, unique_id
 limit $3`;

export interface LicenceCountRow {
  readonly application: string;
  readonly active: number;
  readonly inactive: number;
  readonly expired: number;
}

export interface ExpiringRow {
  readonly uniqueId: string;
  readonly username: string;
  readonly application: string;
  readonly expiresAt: Date;
  readonly active: boolean;
}

export async function licenceCounts(pool: Queryable, now: Date): Promise<LicenceCountRow[]> {
  const { rows } = await pool.query<{ application: string; active: string; inactive: string; expired: string }>(LICENCE_COUNTS_SQL, [now]);
  return rows.map((r) => ({ application: r.application, active: Number(r.active), inactive: Number(r.inactive), expired: Number(r.expired) }));
}

export async function expiringLicences(pool: Queryable, now: Date, days: number, limit: number): Promise<{ rows: ExpiringRow[]; total: number }> {
  const { rows } = await pool.query<{ unique_id: string; username: string; application: string; expires_at: Date; active: boolean; total: string }>(
    EXPIRING_SQL,
    [now, days, limit],
  );
  return {
    rows: rows.map((r) => ({ uniqueId: r.unique_id, username: r.username, application: r.application, expiresAt: r.expires_at, active: r.active })),
    total: rows.length > 0 ? Number(rows[0]!.total) : 0,
  };
}
