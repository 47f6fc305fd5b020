/**
 * Dashboard statistics over licence events and licences: the weekly statistics report (two
 * pivots and a frequency table) and the licence summary. Analysts and admins only; the service
 * checks the caller itself, so CLIs and report workers are held to the same rule as GraphQL.
 *
 * Weekly statistics are exact in every time zone PostgreSQL knows and cost O(weeks), not
 * O(events): see buckets.ts for how rollups and raw events are combined, and
 * drizzle/data/0002_licence_event_rollups_trigger.sql for how the rollups are kept current.
 *
 * ```ts
 * const stats = await services.statistics.weekly(caller, { from: '2026-01-01', to: '2026-03-31', timeZone: 'Asia/Kolkata' });
 * stats.summary.rows[0] // { key: '2026-W01', start: '2025-12-29', values: [12, 0, 3], total: 15 }
 * ```
 */
import type { Database } from '../../db/client.ts';
import { BadUserInputError, ForbiddenError, UnauthenticatedError } from '../../errors.ts';
import type { WorkerPool } from '../../workers/pool.ts';
import type { TASKS } from '../../workers/tasks.ts';
import type { KindFrequency, Pivot, PivotRow } from '../../workers/tasks/weekly-statistics.ts';
import type { Caller } from '../auth/caller.ts';
import { decompose, localWeekIntervals, type Timeline, timelineSpan } from './buckets.ts';
import { formatDate, parseDate } from './calendar.ts';
import { expiringLicences, licenceCounts, timeline, timeZoneNames, weeklyCounts } from './queries.ts';

export type { KindFrequency, Pivot, PivotRow };

/** What `weekly` is asked for. Dates are local calendar days, `YYYY-MM-DD`; both are included. */
export interface WeeklyStatisticsInput {
  readonly from: string;
  readonly to: string;
  /** Only these applications (the summary's columns, even those without events); null or omitted: all. Never empty. */
  readonly applications?: readonly string[] | null;
  /** Only these sources (bySource's columns); null or omitted: all. Never empty. */
  readonly sources?: readonly string[] | null;
  /** An IANA zone PostgreSQL knows (any case); default `UTC`. Weeks start on Monday 00:00 there. */
  readonly timeZone?: string;
}

/**
 * The weekly statistics report: plain, serialisable data.
 * - `summary`: weeks × applications; `bySource`: weeks × sources. One row per ISO week that
 *   meets the range, from the week of `from` to the week of `to`, empty weeks included; the
 *   first and last rows count only the days inside the range. Columns are sorted: the names
 *   asked for, or every name with events in the range.
 * - `frequency`: each event kind with its count and share of the range's total, most frequent first.
 * All three count the same events: `summary.grandTotal === bySource.grandTotal === Σ frequency.count`.
 */
export interface WeeklyStatistics {
  readonly from: string;
  readonly to: string;
  /** The zone's canonical name, as PostgreSQL spells it. */
  readonly timeZone: string;
  /** The application filter as applied (deduplicated, sorted), or null for all. */
  readonly applications: string[] | null;
  readonly sources: string[] | null;
  readonly summary: Pivot;
  readonly frequency: KindFrequency[];
  readonly bySource: Pivot;
}

export interface LicenceCounts {
  /** Active and not expired. */
  readonly active: number;
  /** Deactivated and not expired. */
  readonly inactive: number;
  /** Past their expiry (active or not). */
  readonly expired: number;
  readonly total: number;
}

export interface ApplicationLicenceCounts extends LicenceCounts {
  readonly application: string;
}

export interface ExpiringLicence {
  readonly uniqueId: string;
  readonly username: string;
  readonly application: string;
  readonly expiresAt: Date;
  readonly active: boolean;
}

export interface LicenceSummary {
  /** The moment the summary describes: expiry is judged against it. */
  readonly asOf: Date;
  readonly expiringWithinDays: number;
  /** Per application, sorted by name. */
  readonly applications: ApplicationLicenceCounts[];
  readonly totals: LicenceCounts;
  /** Licences expiring after `asOf` and within `expiringWithinDays`, soonest first, at most the configured limit. */
  readonly expiring: ExpiringLicence[];
  /** How many licences expire in that window (may exceed `expiring.length`). */
  readonly expiringCount: number;
}

export interface StatisticsService {
  /**
   * The weekly statistics report. Rejects with UNAUTHENTICATED or FORBIDDEN (not an analyst or
   * admin), BAD_USER_INPUT (`extensions.field`: a malformed date, `to` before `from`, a range
   * longer than `STATISTICS_MAX_RANGE_DAYS`, an unknown time zone, an empty or too long
   * filter), or the worker pool's TIMEOUT, SERVER_BUSY and CANCELLED. Ranges in the future or
   * before the first event answer with zeros; unknown applications and sources with zero columns.
   */
  weekly(caller: Caller, input: WeeklyStatisticsInput, options?: { readonly signal?: AbortSignal }): Promise<WeeklyStatistics>;
  /** Licences per application and those expiring within `expiringWithinDays` (0…3650, default 30). */
  licenceSummary(caller: Caller, options?: { readonly expiringWithinDays?: number }): Promise<LicenceSummary>;
}

export interface StatisticsServiceDeps {
  readonly data: Database;
  readonly pool: WorkerPool<typeof TASKS>;
  readonly maxRangeDays: number;
  readonly maxFilterValues: number;
  readonly expiringLimit: number;
  readonly now: () => Date;
}

/** Longest `expiringWithinDays` accepted: ten years. */
export const MAX_EXPIRING_DAYS = 3650;
/** Timelines kept per process (zone × range); they depend only on tzdata. */
const TIMELINE_CACHE_SIZE = 256;
/** Longer than any zone name; longer input is not looked up. */
const MAX_TIME_ZONE_LENGTH = 64;

/** Analysts and admins; anyone else is refused with the code the directives would use. */
function requireAnalyst(caller: Caller): void {
  if (caller.kind !== 'user') throw new UnauthenticatedError(caller.kind === 'invalid' ? `Sign in again: ${caller.reason}.` : 'Sign in first.');
  if (caller.role !== 'ANALYST' && caller.role !== 'ADMIN') throw new ForbiddenError('This needs the ANALYST role.');
}

function day(value: unknown, field: string): number {
  const days = typeof value === 'string' ? parseDate(value) : undefined;
  if (days === undefined) throw new BadUserInputError(`${field} must be a date such as 2026-04-01.`, field);
  return days;
}

function filter(values: readonly string[] | null | undefined, field: string, max: number): string[] | null {
  if (values === null || values === undefined) return null;
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw new BadUserInputError(`${field} must be a list of names.`, field);
  if (values.length === 0) throw new BadUserInputError(`${field} must name at least one; leave it out (or null) for all.`, field);
  if (values.length > max) throw new BadUserInputError(`${field} may name at most ${max}.`, field);
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function createStatisticsService(deps: StatisticsServiceDeps): StatisticsService {
  const { data, pool } = deps;
  let zones: Promise<Map<string, string>> | undefined;
  const timelines = new Map<string, Timeline>();

  const zoneName = async (value: unknown): Promise<string> => {
    const wanted = value === undefined || value === null ? 'UTC' : value;
    if (typeof wanted === 'string' && wanted.length <= MAX_TIME_ZONE_LENGTH) {
      zones ??= timeZoneNames(data.pool).catch((err: unknown) => {
        zones = undefined;
        throw err;
      });
      const name = (await zones).get(wanted.toLowerCase());
      if (name) return name;
    }
    throw new BadUserInputError('timeZone must be an IANA time zone name such as Europe/Paris (see pg_timezone_names).', 'timeZone');
  };

  const timelineOf = async (timeZone: string, start: number, end: number): Promise<Timeline> => {
    const key = `${timeZone}\n${start}\n${end}`;
    const cached = timelines.get(key);
    if (cached) return cached;
    const fresh = await timeline(data.pool, timeZone, start, end);
    if (timelines.size >= TIMELINE_CACHE_SIZE) timelines.delete(timelines.keys().next().value!);
    timelines.set(key, fresh);
    return fresh;
  };

  return {
    async weekly(caller, input, options = {}) {
      requireAnalyst(caller);
      const first = day(input.from, 'from');
      const last = day(input.to, 'to');
      if (last < first) throw new BadUserInputError('to must not be before from.', 'to');
      if (last - first + 1 > deps.maxRangeDays) throw new BadUserInputError(`The range may be at most ${deps.maxRangeDays} days long.`, 'to');
      const applications = filter(input.applications, 'applications', deps.maxFilterValues);
      const sources = filter(input.sources, 'sources', deps.maxFilterValues);
      const timeZone = await zoneName(input.timeZone);

      const span = timelineSpan(first, last);
      const { mondays, intervals } = localWeekIntervals(first, last, await timelineOf(timeZone, span.start, span.end));
      const { pieces, windows } = decompose(intervals);
      const counts = await weeklyCounts(data.pool, pieces, windows, applications, sources);
      const tables = await pool.defer({ kind: 'weeklyStatistics', input: { mondays, applications, sources, counts } }, { signal: options.signal });
      return { from: formatDate(first), to: formatDate(last), timeZone, applications, sources, ...tables };
    },

    async licenceSummary(caller, options = {}) {
      requireAnalyst(caller);
      const days = options.expiringWithinDays ?? 30;
      if (!Number.isInteger(days) || days < 0 || days > MAX_EXPIRING_DAYS) {
        throw new BadUserInputError(`expiringWithinDays must be between 0 and ${MAX_EXPIRING_DAYS}.`, 'expiringWithinDays');
      }
      const asOf = deps.now();
      const client = await data.pool.connect();
      let counts: Awaited<ReturnType<typeof licenceCounts>>;
      let expiring: Awaited<ReturnType<typeof expiringLicences>>;
      try {
        // One snapshot: the totals and the list describe the same moment.
        await client.query('begin isolation level repeatable read read only');
        counts = await licenceCounts(client, asOf);
        expiring = await expiringLicences(client, asOf, days, deps.expiringLimit);
        await client.query('commit');
        client.release();
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
      const applications = counts.map((c) => ({ ...c, total: c.active + c.inactive + c.expired }));
      const sum = (key: keyof LicenceCounts) => applications.reduce((s, a) => s + a[key], 0);
      return {
        asOf,
        expiringWithinDays: days,
        applications,
        totals: { active: sum('active'), inactive: sum('inactive'), expired: sum('expired'), total: sum('total') },
        expiring: expiring.rows,
        expiringCount: expiring.total,
      };
    },
  };
}
