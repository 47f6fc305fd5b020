/**
 * From a date range in a time zone to the rollup buckets and raw-event windows whose signed
 * counts add up to each local week's events, exactly.
 *
 * 1. {@link localWeekIntervals}: PostgreSQL tells us where the zone's UTC offset changes (see
 *    queries.ts). Between two changes the offset is constant, so local time runs in step with
 *    UTC and the instants of a local week form one UTC interval; a week crossed by a change
 *    (DST, a new standard offset, an LMT switch, a clock set back across midnight) is the union
 *    of several. Every UTC instant lies in exactly one piece of the timeline and so is counted
 *    once, in the week its own local time falls in: what `date_trunc('week', occurred_at AT
 *    TIME ZONE tz)` does per event.
 * 2. {@link decompose}: the count of events in [a, b) is P(b) − P(a), where P(x) is the count
 *    before x. P(x) is built from the grid points nearest to x: whole weeks up to the nearest
 *    Monday 00:00 UTC, signed six-hour buckets from there to the nearest six-hour point, signed
 *    hours to the nearest hour (where hours are kept), and the raw events of what is left
 *    (at most 30 minutes for a week boundary of a zone whose offset is not whole hours; at most
 *    3 hours for the ends of the range when they fall outside the hour window). So a query reads
 *    about one week bucket per week and a few finer buckets per boundary, whatever the number of
 *    events.
 *
 * The levels and the hour window must match the trigger in drizzle/data (a test compares them).
 */
import { DAY_SECONDS, mondayOf, WEEK_SECONDS } from './calendar.ts';

/** 2000-01-03T00:00:00Z, a Monday: every bucket is aligned to it. */
export const ROLLUP_ORIGIN = 946_857_600;
export const SIX_HOURS = 21_600;
export const HOUR = 3_600;
/** The rollup levels, coarsest first, in seconds. */
export const ROLLUP_LEVELS = [WEEK_SECONDS, SIX_HOURS, HOUR] as const;
/** Hour buckets are kept when they start within [Monday 00:00 − 18 h, Monday 00:00 + 12 h) UTC. */
export const HOUR_WINDOW_BEFORE_MONDAY = 18 * HOUR;
export const HOUR_WINDOW_LENGTH = 30 * HOUR;

/** Whether the hour buckets starting at `start` (a whole hour) are kept in the rollups. */
export function hourKept(start: number): boolean {
  const position = (((start - ROLLUP_ORIGIN + HOUR_WINDOW_BEFORE_MONDAY) % WEEK_SECONDS) + WEEK_SECONDS) % WEEK_SECONDS;
  return position < HOUR_WINDOW_LENGTH;
}

/** A zone's UTC offsets over [start, end): `offset` (seconds east of UTC) holds from `at` to the next entry. */
export interface Timeline {
  readonly start: number;
  readonly end: number;
  /** Sorted by `at`; the first entry is at `start`. */
  readonly offsets: readonly { readonly at: number; readonly offset: number }[];
}

/** Instants (UTC seconds) [from, to) whose local time falls in week `label` (0 = the week of the first day). */
export interface LabelledInterval {
  readonly label: number;
  readonly from: number;
  readonly to: number;
}

/** How far around the range the timeline must reach: more than any UTC offset ever used (±16 h). */
export const TIMELINE_MARGIN = 2 * DAY_SECONDS;

/** The UTC span a timeline must cover for the local days firstDay…lastDay. */
export function timelineSpan(firstDay: number, lastDay: number): { start: number; end: number } {
  return { start: firstDay * DAY_SECONDS - TIMELINE_MARGIN, end: (lastDay + 1) * DAY_SECONDS + TIMELINE_MARGIN };
}

/**
 * The local weeks (Mondays, as day numbers) of the days firstDay…lastDay, and for each the UTC
 * intervals of instants whose local time is in the range and in that week.
 */
export function localWeekIntervals(firstDay: number, lastDay: number, timeline: Timeline): { mondays: number[]; intervals: LabelledInterval[] } {
  const firstMonday = mondayOf(firstDay);
  const weeks = Math.floor((lastDay - firstMonday) / 7) + 1;
  const mondays = Array.from({ length: weeks }, (_, k) => firstMonday + 7 * k);
  const rangeFrom = firstDay * DAY_SECONDS;
  const rangeTo = (lastDay + 1) * DAY_SECONDS;
  const weekZero = firstMonday * DAY_SECONDS;
  const intervals: LabelledInterval[] = [];
  const { offsets } = timeline;
  for (let j = 0; j < offsets.length; j++) {
    const { at, offset } = offsets[j]!;
    const until = j + 1 < offsets.length ? offsets[j + 1]!.at : timeline.end;
    // Local (wall-clock) seconds of this piece, clipped to the range.
    const wallFrom = Math.max(at + offset, rangeFrom);
    const wallTo = Math.min(until + offset, rangeTo);
    if (wallFrom >= wallTo) continue;
    const lastWeek = Math.floor((wallTo - 1 - weekZero) / WEEK_SECONDS);
    for (let k = Math.floor((wallFrom - weekZero) / WEEK_SECONDS); k <= lastWeek; k++) {
      const weekFrom = weekZero + k * WEEK_SECONDS;
      intervals.push({ label: k, from: Math.max(wallFrom, weekFrom) - offset, to: Math.min(wallTo, weekFrom + WEEK_SECONDS) - offset });
    }
  }
  return { mondays, intervals };
}

/** `coef` × the rollup count of bucket (`seconds`, `start`) goes to week `label`. */
export interface Piece {
  readonly seconds: number;
  readonly start: number;
  readonly label: number;
  readonly coef: number;
}

/** `coef` × the raw events in [from, to) go to week `label`. */
export interface RawWindow {
  readonly from: number;
  readonly to: number;
  readonly label: number;
  readonly coef: number;
}

const nearest = (x: number, width: number) => ROLLUP_ORIGIN + Math.round((x - ROLLUP_ORIGIN) / width) * width;

/** Signed sums keyed by what they apply to; entries that cancel out disappear. */
class Ledger<T> {
  private readonly entries = new Map<string, { value: T; coef: number }>();
  add(key: string, value: T, coef: number): void {
    const entry = this.entries.get(key);
    if (entry) entry.coef += coef;
    else this.entries.set(key, { value, coef });
  }
  list(): { value: T; coef: number }[] {
    return [...this.entries.values()].filter((e) => e.coef !== 0);
  }
}

/** Buckets and raw windows that count each interval's events into its label. */
export function decompose(intervals: readonly LabelledInterval[]): { pieces: Piece[]; windows: RawWindow[] } {
  const pieces = new Ledger<{ seconds: number; start: number; label: number }>();
  const windows = new Ledger<{ from: number; to: number; label: number }>();

  /** Adds `sign` × the buckets of width `seconds` from grid point p to grid point q (negative when q < p). */
  const buckets = (seconds: number, p: number, q: number, label: number, sign: number) => {
    const [lo, hi, s] = q >= p ? [p, q, sign] : [q, p, -sign];
    for (let t = lo; t < hi; t += seconds) pieces.add(`${seconds}:${t}:${label}`, { seconds, start: t, label }, s);
  };
  const raw = (p: number, x: number, label: number, sign: number) => {
    if (x === p) return;
    const [from, to, s] = x > p ? [p, x, sign] : [x, p, -sign];
    windows.add(`${from}:${to}:${label}`, { from, to, label }, s);
  };
  /** `sign` × (P(x) − P(nearest Monday)); returns that Monday. */
  const chain = (x: number, label: number, sign: number): number => {
    const monday = nearest(x, WEEK_SECONDS);
    const six = nearest(x, SIX_HOURS);
    buckets(SIX_HOURS, monday, six, label, sign);
    const hour = nearest(x, HOUR);
    // The hours between `six` and `hour` lie in one six-hour cell; they are kept for all of it or none.
    const cell = hour >= six ? six : six - SIX_HOURS;
    if (hour !== six && hourKept(cell)) {
      buckets(HOUR, six, hour, label, sign);
      raw(hour, x, label, sign);
    } else {
      raw(six, x, label, sign);
    }
    return monday;
  };

  for (const { label, from, to } of intervals) {
    if (to <= from) continue;
    const start = chain(from, label, -1);
    const end = chain(to, label, 1);
    buckets(WEEK_SECONDS, start, end, label, 1);
  }
  return {
    pieces: pieces.list().map(({ value, coef }) => ({ ...value, coef })),
    windows: windows.list().map(({ value, coef }) => ({ ...value, coef })),
  };
}
