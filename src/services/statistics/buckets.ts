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
 *    Monday 00:00 UTC, then signed six-hour, hour and half-hour buckets, each to the grid point
 *    of its size nearest x (where such buckets are kept), and the raw events of what is left:
 *    nothing for a zone whose offset is whole or half hours, 15 minutes per week boundary at
 *    +5:45, at most 3 hours at the two ends of the range when they are far from a Monday. The
 *    pivots need no event kind, so near Monday their finer buckets come from the pair table
 *    (application, source: a few dozen rows a bucket); the frequency table needs the kind and
 *    reads the series table, but only at the range's two ends, where its intervals' inner ends
 *    do not cancel out. A query thus reads about one week bucket per week and series and a few
 *    pair buckets per week boundary, whatever the number of events.
 *
 * The levels and the pair window must match the trigger in drizzle/data (the tests compare them).
 */
import { DAY_SECONDS, mondayOf, WEEK_SECONDS } from './calendar.ts';

/** 2000-01-03T00:00:00Z, a Monday: every bucket is aligned to it. */
export const ROLLUP_ORIGIN = 946_857_600;
export const SIX_HOURS = 21_600;
export const HOUR = 3_600;
export const HALF_HOUR = 1_800;

/**
 * Where counts are kept (see drizzle/data/*_licence_event_rollups_trigger.sql): `series`
 * (application, source and kind) for all time, `pairs` (application and source) only near
 * Monday 00:00 UTC.
 */
export type RollupTable = 'series' | 'pairs';
export const ROLLUP_LEVELS: Readonly<Record<RollupTable, readonly number[]>> = {
  series: [WEEK_SECONDS, SIX_HOURS],
  pairs: [SIX_HOURS, HOUR, HALF_HOUR],
};
/** Pair buckets are kept when they start within [Monday 00:00 − 18 h, Monday 00:00 + 12 h) UTC. */
export const PAIR_WINDOW_BEFORE_MONDAY = 18 * HOUR;
export const PAIR_WINDOW_LENGTH = 30 * HOUR;

/** Whether pair buckets starting at `start` are kept (the window's ends are six-hour points, so a whole six-hour cell is in or out). */
export function inPairWindow(start: number): boolean {
  const position = (((start - ROLLUP_ORIGIN + PAIR_WINDOW_BEFORE_MONDAY) % WEEK_SECONDS) + WEEK_SECONDS) % WEEK_SECONDS;
  return position < PAIR_WINDOW_LENGTH;
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

/** The label of the frequency table's counts (the whole range), beside the weeks' 0, 1, … */
export const FREQUENCY_LABEL = -1;

/** `coef` × the count of bucket (`seconds`, `start`) in `table` goes to week `label` (or to the frequency table). */
export interface Piece {
  readonly table: RollupTable;
  readonly seconds: number;
  readonly start: number;
  readonly label: number;
  readonly coef: number;
}

/** `coef` × the raw events in [from, to) go to week `label` (or to the frequency table). */
export interface RawWindow {
  readonly from: number;
  readonly to: number;
  readonly label: number;
  readonly coef: number;
}

/** A rollup level a chain may step through, and which table holds each of its buckets (undefined: none). */
interface Level {
  readonly seconds: number;
  readonly table: (start: number) => RollupTable | undefined;
}

/** The weekly pivots need no kind: near Monday they read pairs, elsewhere series. */
const PIVOT_LEVELS: readonly Level[] = [
  { seconds: SIX_HOURS, table: (start) => (inPairWindow(start) ? 'pairs' : 'series') },
  { seconds: HOUR, table: (start) => (inPairWindow(start) ? 'pairs' : undefined) },
  { seconds: HALF_HOUR, table: (start) => (inPairWindow(start) ? 'pairs' : undefined) },
];
/** The frequency table needs the kind: series only. */
const FREQUENCY_LEVELS: readonly Level[] = [{ seconds: SIX_HOURS, table: () => 'series' }];

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

/**
 * Buckets and raw windows that count each interval's events into its label (the pivots), and
 * all of them into {@link FREQUENCY_LABEL} (the frequency table). For the frequency table the
 * intervals' inner ends cancel out, so only the range's two ends cost anything beyond weeks.
 */
export function decompose(intervals: readonly LabelledInterval[]): { pieces: Piece[]; windows: RawWindow[] } {
  const pieces = new Ledger<Omit<Piece, 'coef'>>();
  const windows = new Ledger<Omit<RawWindow, 'coef'>>();

  const piece = (table: RollupTable, seconds: number, start: number, label: number, coef: number) =>
    pieces.add(`${table}:${seconds}:${start}:${label}`, { table, seconds, start, label }, coef);
  const raw = (p: number, x: number, label: number, sign: number) => {
    if (x === p) return;
    const [from, to, s] = x > p ? [p, x, sign] : [x, p, -sign];
    windows.add(`${from}:${to}:${label}`, { from, to, label }, s);
  };
  /** `sign` × (P(x) − P(nearest Monday)) through `levels`; returns that Monday. */
  const chain = (x: number, label: number, sign: number, levels: readonly Level[]): number => {
    const monday = nearest(x, WEEK_SECONDS);
    let at = monday;
    for (const level of levels) {
      // Within half a bucket of where we are, finer levels (or raw events) are the shorter way.
      const next = Math.abs(x - at) <= level.seconds / 2 ? at : nearest(x, level.seconds);
      if (next === at) continue;
      const [lo, hi, s] = next > at ? [at, next, sign] : [next, at, -sign];
      const tables: RollupTable[] = [];
      for (let t = lo; t < hi; t += level.seconds) {
        const table = level.table(t);
        if (!table) break;
        tables.push(table);
      }
      if (tables.length < (hi - lo) / level.seconds) break; // not kept here: raw events from `at`
      for (const [i, table] of tables.entries()) piece(table, level.seconds, lo + i * level.seconds, label, s);
      at = next;
    }
    raw(at, x, label, sign);
    return monday;
  };
  const weeks = (from: number, to: number, label: number) => {
    for (let t = from; t < to; t += WEEK_SECONDS) piece('series', WEEK_SECONDS, t, label, 1);
  };

  for (const { label, from, to } of intervals) {
    if (to <= from) continue;
    weeks(chain(from, label, -1, PIVOT_LEVELS), chain(to, label, 1, PIVOT_LEVELS), label);
    weeks(chain(from, FREQUENCY_LABEL, -1, FREQUENCY_LEVELS), chain(to, FREQUENCY_LABEL, 1, FREQUENCY_LEVELS), FREQUENCY_LABEL);
  }
  return {
    pieces: pieces.list().map(({ value, coef }) => ({ ...value, coef })),
    windows: windows.list().map(({ value, coef }) => ({ ...value, coef })),
  };
}
