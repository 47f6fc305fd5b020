/**
 * For statistics tests: the service over a test's databases with a real worker pool, callers
 * of each role, and the reference answer — a direct aggregation over the raw events, the way
 * the issue defines exactness (`date_trunc('week', occurred_at AT TIME ZONE tz)`).
 */
import { after } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { createLogger } from '../../src/logger.ts';
import type { Caller } from '../../src/services/auth/caller.ts';
import type { Role } from '../../src/services/auth/tokens.ts';
import { createStatisticsService, type StatisticsService, type WeeklyStatistics } from '../../src/services/statistics/index.ts';
import { createWorkerPool, type WorkerPool } from '../../src/workers/pool.ts';
import { TASKS } from '../../src/workers/tasks.ts';

let pool: WorkerPool<typeof TASKS> | undefined;
after(() => pool?.close());

/** The statistics service over `data`, shaping on one real worker thread (shared by the file). */
export function statisticsService(data: Database, overrides: { maxRangeDays?: number; now?: () => Date; expiringLimit?: number } = {}): StatisticsService {
  pool ??= createWorkerPool({
    tasks: TASKS,
    threads: 1,
    maxQueue: 16,
    timeoutMs: 60_000,
    maxOldGenerationMb: 128,
    recycleAfterTasks: 0,
    logger: createLogger(process.env.STATISTICS_TEST_LOG ? 'error' : 'silent'),
  });
  return createStatisticsService({
    data,
    pool,
    maxRangeDays: overrides.maxRangeDays ?? 1827,
    maxFilterValues: 100,
    expiringLimit: overrides.expiringLimit ?? 100,
    now: overrides.now ?? (() => new Date()),
  });
}

export const callerWith = (role: Role): Caller => ({
  kind: 'user',
  userId: '00000000-0000-4000-8000-000000000001',
  role,
  sessionId: '00000000-0000-4000-8000-000000000002',
  secondFactorAt: null,
  checkedAt: new Date(),
});

/** Cells as `table|week|name` → count (weeks `''` for the frequency table); zeros left out. */
export type Cells = Map<string, number>;

/** The service's three tables as cells. */
export function cellsOf(stats: WeeklyStatistics): Cells {
  const cells: Cells = new Map();
  for (const [table, pivot] of [
    ['application', stats.summary],
    ['source', stats.bySource],
  ] as const) {
    for (const row of pivot.rows) {
      row.values.forEach((v, j) => {
        if (v !== 0) cells.set(`${table}|${row.key} ${row.start}|${pivot.columns[j]}`, v);
      });
    }
  }
  for (const f of stats.frequency) cells.set(`kind||${f.kind}`, f.count);
  return cells;
}

const REFERENCE_SQL = `
with e as (
  select application, source, kind, date_trunc('week', occurred_at at time zone $1) as week
    from licensing.licence_events
   where (occurred_at at time zone $1) >= $2::date and (occurred_at at time zone $1) < $3::date + 1
     and application = any($4::text[]) and ($5::text[] is null or source = any($5::text[]))
)
select 'application' as t, to_char(week, 'IYYY-"W"IW') || ' ' || to_char(week, 'YYYY-MM-DD') as w, application as name, count(*) as n from e group by 1, 2, 3
union all
select 'source', to_char(week, 'IYYY-"W"IW') || ' ' || to_char(week, 'YYYY-MM-DD'), source, count(*) from e group by 1, 2, 3
union all
select 'kind', '', kind, count(*) from e group by 1, 2, 3`;

/** The reference: the same three tables straight from the raw events, as cells. */
export async function referenceCells(
  data: Database,
  query: { timeZone: string; from: string; to: string; applications: readonly string[]; sources?: readonly string[] | null },
): Promise<Cells> {
  const { rows } = await data.pool.query<{ t: string; w: string; name: string; n: string }>(REFERENCE_SQL, [
    query.timeZone,
    query.from,
    query.to,
    query.applications,
    query.sources ?? null,
  ]);
  return new Map(rows.map((r) => [`${r.t}|${r.w}|${r.name}`, Number(r.n)]));
}

/** Where two sets of cells differ, as readable lines (empty when equal). */
export function differences(ours: Cells, reference: Cells): string[] {
  const out: string[] = [];
  for (const key of new Set([...ours.keys(), ...reference.keys()])) {
    if (ours.get(key) !== reference.get(key)) out.push(`${key}: ours ${ours.get(key) ?? 0}, raw ${reference.get(key) ?? 0}`);
  }
  return out.sort();
}
