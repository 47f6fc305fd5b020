import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prng } from '../../../src/db/seed.ts';
import {
  decompose,
  FREQUENCY_LABEL,
  HALF_HOUR,
  HOUR,
  inPairWindow,
  type LabelledInterval,
  localWeekIntervals,
  ROLLUP_LEVELS,
  ROLLUP_ORIGIN,
  type RollupTable,
  SIX_HOURS,
  type Timeline,
  timelineSpan,
} from '../../../src/services/statistics/buckets.ts';
import { DAY_SECONDS, mondayOf, parseDate, WEEK_SECONDS } from '../../../src/services/statistics/calendar.ts';

const SEED = Number(process.env.STATISTICS_TEST_SEED ?? Date.now() % 1_000_000);
const failure = (what: string) => `${what} (seed ${SEED}; rerun with STATISTICS_TEST_SEED=${SEED})`;

const offsetAt = (timeline: Timeline, t: number) => {
  let offset = timeline.offsets[0]!.offset;
  for (const o of timeline.offsets) if (o.at <= t) offset = o.offset;
  return offset;
};

/** A random zone history: odd offsets (LMT-like seconds), DST-like hours, and clocks set back across midnight by up to a day. */
function randomTimeline(random: () => number, start: number, end: number): Timeline {
  const offset = () => Math.round((random() * 2 - 1) * 15 * HOUR) - (random() < 0.5 ? Math.round(random() * 59) : 0);
  const offsets = [{ at: start, offset: offset() }];
  const changes = Math.floor(random() * 5);
  const times = Array.from({ length: changes }, () => start + Math.floor(random() * (end - start))).sort((a, b) => a - b);
  for (const at of times) {
    if (at <= offsets.at(-1)!.at) continue;
    const previous = offsets.at(-1)!.offset;
    const roll = random();
    offsets.push({ at, offset: roll < 0.4 ? previous + (random() < 0.5 ? HOUR : -HOUR) : roll < 0.6 ? previous - DAY_SECONDS : offset() });
  }
  return { start, end, offsets };
}

describe('local weeks as UTC intervals', () => {
  test('every instant falls in the week of its own local time, and only there', () => {
    const random = prng(SEED);
    for (let round = 0; round < 200; round++) {
      const firstDay = parseDate('2024-01-01')! + Math.floor(random() * 400) - 200;
      const lastDay = firstDay + Math.floor(random() * 60);
      const { start, end } = timelineSpan(firstDay, lastDay);
      const timeline = randomTimeline(random, start, end);
      const { mondays, intervals } = localWeekIntervals(firstDay, lastDay, timeline);
      assert.equal(mondays[0], mondayOf(firstDay));
      assert.equal(mondays.at(-1), mondayOf(lastDay));
      for (let i = 0; i < 300; i++) {
        const t = start + Math.floor(random() * (end - start));
        const wall = t + offsetAt(timeline, t);
        const inRange = wall >= firstDay * DAY_SECONDS && wall < (lastDay + 1) * DAY_SECONDS;
        const expected: number | undefined = inRange ? Math.floor((wall - mondays[0]! * DAY_SECONDS) / WEEK_SECONDS) : undefined;
        const found = intervals.filter((iv) => iv.from <= t && t < iv.to).map((iv) => iv.label);
        assert.deepEqual(found, expected === undefined ? [] : [expected], failure(`round ${round}, instant ${t}`));
      }
    }
  });
});

describe('rollup buckets and raw windows', () => {
  test('the weeks of every zone from UTC-12 to UTC+14 need raw events only for offsets in quarter hours', () => {
    const monday = ROLLUP_ORIGIN + 52 * WEEK_SECONDS;
    for (let offset = -12 * HOUR; offset <= 14 * HOUR; offset += 900) {
      const { pieces, windows } = decompose([{ label: 0, from: monday - offset, to: monday + WEEK_SECONDS - offset }]);
      const longest = Math.max(0, ...windows.filter((w) => w.label === 0).map((w) => w.to - w.from));
      const name = `UTC${offset >= 0 ? '+' : ''}${offset / HOUR}`;
      assert.equal(longest, offset % HALF_HOUR === 0 ? 0 : 900, `${name}: raw windows of ${longest} s`);
      // Near Monday the pivots read pairs; weeks and the frequency table read series.
      for (const p of pieces) assert.equal(p.table, p.label === FREQUENCY_LABEL || p.seconds === WEEK_SECONDS ? 'series' : 'pairs', name);
    }
    assert.ok(inPairWindow(monday - 18 * HOUR) && inPairWindow(monday + 11 * HOUR + HALF_HOUR));
    assert.ok(!inPairWindow(monday - 18 * HOUR - HALF_HOUR) && !inPairWindow(monday + 12 * HOUR) && !inPairWindow(monday + 3 * DAY_SECONDS));
    assert.deepEqual(ROLLUP_LEVELS, { series: [WEEK_SECONDS, SIX_HOURS], pairs: [SIX_HOURS, HOUR, HALF_HOUR] });
  });

  test('signed buckets and windows add up to exactly the events of each interval, and of all of them for the frequency table', () => {
    const random = prng(SEED ^ 0x51a7);
    for (let round = 0; round < 40; round++) {
      const base = ROLLUP_ORIGIN + Math.floor(random() * 2000) * DAY_SECONDS;
      const span = 30 * DAY_SECONDS;
      const events = Array.from({ length: 3000 }, () => base + Math.floor(random() * span));
      // The rollups as the trigger keeps them: every event in every level of `series`, and in those of `pairs` inside the window.
      const rollups = new Map<string, number>();
      for (const t of events) {
        for (const table of ['series', 'pairs'] as RollupTable[]) {
          if (table === 'pairs' && !inPairWindow(t)) continue;
          for (const seconds of ROLLUP_LEVELS[table]) {
            const key = `${table}:${seconds}:${ROLLUP_ORIGIN + Math.floor((t - ROLLUP_ORIGIN) / seconds) * seconds}`;
            rollups.set(key, (rollups.get(key) ?? 0) + 1);
          }
        }
      }
      // Random contiguous intervals: boundaries at odd offsets, whole hours, half hours, Mondays.
      const intervals: LabelledInterval[] = [];
      let at = base + Math.floor(random() * DAY_SECONDS);
      for (let label = 0; at < base + span - 8 * DAY_SECONDS; label++) {
        const kind = random();
        const length = kind < 0.3 ? WEEK_SECONDS : kind < 0.6 ? Math.floor(random() * 8 * DAY_SECONDS) : Math.round(random() * 100) * 1800;
        intervals.push({ label, from: at, to: at + length });
        at += length + (random() < 0.2 ? Math.floor(random() * 5000) : 0);
      }
      const { pieces, windows } = decompose(intervals);
      const got = new Map<number, number>();
      for (const p of pieces) {
        assert.ok(ROLLUP_LEVELS[p.table].includes(p.seconds), failure(`${p.table} has no ${p.seconds} s level`));
        assert.ok(p.table === 'series' || inPairWindow(p.start), failure('a pair bucket outside the window is never asked for'));
        got.set(p.label, (got.get(p.label) ?? 0) + p.coef * (rollups.get(`${p.table}:${p.seconds}:${p.start}`) ?? 0));
      }
      for (const w of windows) {
        assert.ok(w.to - w.from <= 3 * HOUR, failure('a raw window is at most three hours'));
        got.set(w.label, (got.get(w.label) ?? 0) + w.coef * events.filter((t) => t >= w.from && t < w.to).length);
      }
      let all = 0;
      for (const { label, from, to } of intervals) {
        const expected = events.filter((t) => t >= from && t < to).length;
        all += expected;
        assert.equal(got.get(label) ?? 0, expected, failure(`round ${round}, interval ${label} [${from}, ${to})`));
      }
      assert.equal(got.get(FREQUENCY_LABEL) ?? 0, all, failure(`round ${round}, the frequency table`));
    }
  });

  test('a UTC week is one week bucket, for the pivots and for the frequency table', () => {
    const monday = ROLLUP_ORIGIN + 100 * WEEK_SECONDS;
    assert.deepEqual(decompose([{ label: 0, from: monday, to: monday + WEEK_SECONDS }]), {
      pieces: [
        { table: 'series', seconds: WEEK_SECONDS, start: monday, label: 0, coef: 1 },
        { table: 'series', seconds: WEEK_SECONDS, start: monday, label: FREQUENCY_LABEL, coef: 1 },
      ],
      windows: [],
    });
    // UTC-8: Monday 08:00 to Monday 08:00 UTC; the pivots read a week, two six-hour and four hour buckets.
    const la = decompose([{ label: 0, from: monday + 8 * HOUR, to: monday + WEEK_SECONDS + 8 * HOUR }]);
    assert.equal(la.pieces.filter((p) => p.label === 0).length, 7);
    assert.deepEqual(
      la.windows.filter((w) => w.label === 0),
      [],
    );
  });
});
