/**
 * Where a weekly statistics report gets its numbers: the statistics service's `weekly()`
 * (issue 11), whose answer (`WeeklyStatistics`, src/reports/types.ts) the templates render.
 *
 * {@link createRawWeeklyStatistics} answers the same question straight from the raw events
 * with one GROUP BY (weeks cut in the report's time zone by PostgreSQL's own
 * `date_trunc('week', occurred_at AT TIME ZONE tz)`, `to` inclusive). It serves until the
 * statistics service, with its rollups, is wired in its place (src/services/index.ts).
 */
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { ForbiddenError, UnauthenticatedError } from '../../errors.ts';
import type { Pivot, WeeklyReportParameters, WeeklyStatistics } from '../../reports/types.ts';
import type { Caller } from '../auth/caller.ts';

/** What a report needs of the statistics service. */
export interface WeeklyStatisticsSource {
  /** The three tables for `parameters`; checks that the caller is an ANALYST or ADMIN. */
  weekly(caller: Caller, parameters: WeeklyReportParameters): Promise<WeeklyStatistics>;
}

const DAY_MS = 86_400_000;

/** Monday on or before a YYYY-MM-DD date. */
export function mondayOf(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const weekday = (new Date(t).getUTCDay() + 6) % 7; // Monday 0
  return new Date(t - weekday * DAY_MS).toISOString().slice(0, 10);
}

/** ISO 8601 week label of a Monday (`2026-W14`), as pandas' `%G-W%V`. */
export function isoWeekLabel(monday: string): string {
  const thursday = new Date(Date.parse(`${monday}T00:00:00Z`) + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** Every Monday from the week of `from` to the week of `to`. */
export function weeksBetween(from: string, to: string): string[] {
  const weeks: string[] = [];
  for (let t = Date.parse(`${mondayOf(from)}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); t <= end; t += 7 * DAY_MS) {
    weeks.push(new Date(t).toISOString().slice(0, 10));
  }
  return weeks;
}

interface Count {
  readonly week: string;
  readonly key: string;
  readonly n: number;
}

function pivot(weeks: readonly string[], columns: readonly string[], counts: readonly Count[]): Pivot {
  const col = new Map(columns.map((c, i) => [c, i]));
  const row = new Map(weeks.map((w, i) => [w, i]));
  const cells = weeks.map(() => columns.map(() => 0));
  for (const c of counts) {
    const r = row.get(c.week);
    const k = col.get(c.key);
    if (r !== undefined && k !== undefined) cells[r]![k]! += c.n;
  }
  const rows = weeks.map((w, r) => ({ key: isoWeekLabel(w), start: w, values: cells[r]!, total: cells[r]!.reduce((a, b) => a + b, 0) }));
  const totals = columns.map((_, k) => cells.reduce((sum, values) => sum + values[k]!, 0));
  return { columns, rows, totals, grandTotal: totals.reduce((a, b) => a + b, 0) };
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Weekly statistics from the raw events (see the module comment). */
export function createRawWeeklyStatistics(db: NodePgDatabase): WeeklyStatisticsSource {
  return {
    async weekly(caller, p) {
      if (caller.kind !== 'user') throw new UnauthenticatedError();
      if (caller.role !== 'ANALYST' && caller.role !== 'ADMIN') throw new ForbiddenError('Weekly statistics need the ANALYST role.');
      const apps = p.applications === null ? null : [...p.applications];
      const sources = p.sources === null ? null : [...p.sources];
      const result = await db.execute(sql`
        select to_char(date_trunc('week', occurred_at at time zone ${p.timeZone}), 'YYYY-MM-DD') as week,
               application, source, kind, count(*)::int as n
        from licensing.licence_events
        where occurred_at >= (${p.from}::date)::timestamp at time zone ${p.timeZone}
          and occurred_at < (${p.to}::date + 1)::timestamp at time zone ${p.timeZone}
          and (${sql.param(apps)}::text[] is null or application = any(${sql.param(apps)}::text[]))
          and (${sql.param(sources)}::text[] is null or source = any(${sql.param(sources)}::text[]))
        group by 1, 2, 3, 4`);
      const found = result.rows as { week: string; application: string; source: string; kind: string; n: number }[];
      const weeks = weeksBetween(p.from, p.to);
      const applicationColumns = sorted([...(apps ?? []), ...found.map((r) => r.application)]);
      const sourceColumns = sorted([...(sources ?? []), ...found.map((r) => r.source)]);
      const kinds = new Map<string, number>();
      for (const r of found) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + r.n);
      const total = [...kinds.values()].reduce((a, b) => a + b, 0);
      return {
        from: p.from,
        to: p.to,
        timeZone: p.timeZone,
        applications: apps,
        sources,
        summary: pivot(
          weeks,
          applicationColumns,
          found.map((r) => ({ week: r.week, key: r.application, n: r.n })),
        ),
        frequency: [...kinds]
          .map(([kind, count]) => ({ kind, count, share: total === 0 ? 0 : count / total }))
          .sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1)),
        bySource: pivot(
          weeks,
          sourceColumns,
          found.map((r) => ({ week: r.week, key: r.source, n: r.n })),
        ),
      };
    },
  };
}
