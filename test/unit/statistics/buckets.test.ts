import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prng } from '../../../src/db/seed.ts';
import {
  decompose,
  HOUR,
  hourKept,
  type LabelledInterval,
  localWeekIntervals,
  ROLLUP_LEVELS,
  ROLLUP_ORIGIN,
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
  test('the local weeks of every zone from UTC-12 to UTC+14 need raw events only for offsets that are not whole hours', () => {
    const monday = ROLLUP_ORIGIN + 52 * WEEK_SECONDS;
    for (let offset = -12 * HOUR; offset <= 14 * HOUR; offset += 900) {
      const { windows } = decompose([{ label: 0, from: monday - offset, to: monday + WEEK_SECONDS - offset }]);
      const longest = Math.max(0, ...windows.map((w) => w.to - w.from));
      assert.ok(offset % HOUR === 0 ? longest === 0 : longest <= 1800, `UTC${offset >= 0 ? '+' : ''}${offset / HOUR}: raw windows of ${longest} s`);
    }
    assert.ok(hourKept(monday - 18 * HOUR) && hourKept(monday + 11 * HOUR));
    assert.ok(!hourKept(monday - 19 * HOUR) && !hourKept(monday + 12 * HOUR) && !hourKept(monday + 3 * DAY_SECONDS));
    assert.deepEqual(ROLLUP_LEVELS, [WEEK_SECONDS, SIX_HOURS, HOUR]);
  });

  test('signed buckets and windows add up to exactly the events of each interval', () => {
    const random = prng(SEED ^ 0x51a7);
    for (let round = 0; round < 40; round++) {
      const base = ROLLUP_ORIGIN + Math.floor(random() * 2000) * DAY_SECONDS;
      const span = 30 * DAY_SECONDS;
      const events = Array.from({ length: 3000 }, () => base + Math.floor(random() * span));
      // The rollups as the trigger would keep them.
      const rollups = new Map<string, number>();
      const bump = (seconds: number, t: number) => {
        const start = ROLLUP_ORIGIN + Math.floor((t - ROLLUP_ORIGIN) / seconds) * seconds;
        if (seconds === HOUR && !hourKept(start)) return;
        rollups.set(`${seconds}:${start}`, (rollups.get(`${seconds}:${start}`) ?? 0) + 1);
      };
      for (const t of events) for (const seconds of ROLLUP_LEVELS) bump(seconds, t);
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
        assert.ok(p.seconds !== HOUR || hourKept(p.start), failure('an hour outside the window is never asked for'));
        got.set(p.label, (got.get(p.label) ?? 0) + p.coef * (rollups.get(`${p.seconds}:${p.start}`) ?? 0));
      }
      for (const w of windows) {
        assert.ok(w.to - w.from <= 3 * HOUR, failure('a raw window is at most three hours'));
        got.set(w.label, (got.get(w.label) ?? 0) + w.coef * events.filter((t) => t >= w.from && t < w.to).length);
      }
      for (const { label, from, to } of intervals) {
        const expected = events.filter((t) => t >= from && t < to).length;
        assert.equal(got.get(label) ?? 0, expected, failure(`round ${round}, interval ${label} [${from}, ${to})`));
      }
    }
  });

  test('a week of a whole-hour zone near Monday needs no raw events, and a UTC week is one bucket', () => {
    const monday = ROLLUP_ORIGIN + 100 * WEEK_SECONDS;
    assert.deepEqual(decompose([{ label: 0, from: monday, to: monday + WEEK_SECONDS }]), {
      pieces: [{ seconds: WEEK_SECONDS, start: monday, label: 0, coef: 1 }],
      windows: [],
    });
    // UTC-8: the week runs from Monday 08:00 to the next Monday 08:00 UTC.
    const la = decompose([{ label: 0, from: monday + 8 * HOUR, to: monday + WEEK_SECONDS + 8 * HOUR }]);
    assert.deepEqual(la.windows, []);
    assert.equal(la.pieces.length, 7, 'a week, two six-hour buckets and four hours');
    // UTC+5:30: half an hour of raw events at each end.
    const kolkata = decompose([{ label: 0, from: monday - 5.5 * HOUR, to: monday + WEEK_SECONDS - 5.5 * HOUR }]);
    assert.deepEqual(
      kolkata.windows.map((w) => w.to - w.from),
      [1800, 1800],
    );
  });
});
