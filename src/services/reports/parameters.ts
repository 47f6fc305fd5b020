/**
 * Checks a report request before anything is queued. Every value is hostile until checked:
 * dates must be real calendar days, the range bounded, the lists short and their names short,
 * the time zone one PostgreSQL knows (its tzdata draws the weeks, so it is the judge).
 */
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { BadUserInputError } from '../../errors.ts';
import type { ReportFormat, ReportKind, WeeklyReportParameters } from '../../reports/types.ts';

/** Most names in `applications` or `sources`, and the longest name. */
export const MAX_NAMES = 100;
export const MAX_NAME_LENGTH = 200;

export interface ReportRequest {
  readonly kind: ReportKind;
  readonly format: ReportFormat;
  readonly from: string;
  readonly to: string;
  readonly applications?: readonly string[] | null;
  readonly sources?: readonly string[] | null;
  readonly timeZone?: string | null;
}

const DAY_MS = 86_400_000;

/** Milliseconds since the epoch of a YYYY-MM-DD that is a real day, else undefined. */
function day(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const t = Date.parse(`${value}T00:00:00Z`);
  return Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== value ? undefined : t;
}

function names(list: readonly string[] | null | undefined, field: string): readonly string[] | null {
  if (list === null || list === undefined) return null;
  if (list.length === 0) throw new BadUserInputError(`${field} must name at least one, or be left out for all.`, field);
  if (list.length > MAX_NAMES) throw new BadUserInputError(`${field} may name at most ${MAX_NAMES}.`, field);
  for (const name of list) {
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) throw new BadUserInputError(`Each of ${field} must be 1–${MAX_NAME_LENGTH} characters.`, field);
  }
  return [...new Set(list)].sort();
}

export interface ParameterRules {
  readonly maxRangeDays: number;
}

/** Time zone names PostgreSQL knows, read once per process. */
export function createTimeZoneCheck(db: NodePgDatabase): (zone: string) => Promise<boolean> {
  let zones: Promise<Set<string>> | undefined;
  return async (zone) => {
    zones ??= db.execute(sql`select name from pg_timezone_names`).then((r) => new Set((r.rows as { name: string }[]).map((z) => z.name)));
    zones.catch(() => (zones = undefined));
    return (await zones).has(zone);
  };
}

/** The stored parameters of a valid request; BAD_USER_INPUT naming the field otherwise. */
export async function checkRequest(
  request: ReportRequest,
  rules: ParameterRules,
  knownZone: (zone: string) => Promise<boolean>,
): Promise<WeeklyReportParameters> {
  const from = day(request.from);
  if (from === undefined) throw new BadUserInputError('from must be a date such as 2026-04-06.', 'from');
  const to = day(request.to);
  if (to === undefined) throw new BadUserInputError('to must be a date such as 2026-04-06.', 'to');
  if (from > to) throw new BadUserInputError('from must not be after to.', 'from');
  if ((to - from) / DAY_MS + 1 > rules.maxRangeDays) throw new BadUserInputError(`The range may cover at most ${rules.maxRangeDays} days.`, 'to');
  const timeZone = request.timeZone ?? 'UTC';
  if (timeZone.length > 64 || !(await knownZone(timeZone)))
    throw new BadUserInputError('timeZone must be an IANA time zone such as Europe/Berlin.', 'timeZone');
  return {
    from: request.from,
    to: request.to,
    applications: names(request.applications, 'applications'),
    sources: names(request.sources, 'sources'),
    timeZone,
  };
}

/** Parameters read back from a stored job (written by checkRequest; checked again, cheaply). */
export function storedParameters(value: unknown): WeeklyReportParameters {
  const p = value as Partial<WeeklyReportParameters> | null;
  if (!p || typeof p.from !== 'string' || typeof p.to !== 'string' || typeof p.timeZone !== 'string') {
    throw new TypeError('a report job has malformed parameters');
  }
  return { from: p.from, to: p.to, timeZone: p.timeZone, applications: p.applications ?? null, sources: p.sources ?? null };
}
