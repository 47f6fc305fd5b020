/**
 * Property test: the weekly statistics (rollups + raw windows) equal a direct aggregation over
 * the raw events, for generated events and many random ranges and time zones — whole-hour,
 * half- and quarter-hour offsets, 30-minute DST (Lord Howe), +12:45 and +14, and historical
 * offsets in seconds (Monrovia's −0:44:30, New York's LMT) and clocks moved by a whole day
 * (Sitka 1867, Apia 2011). Events cluster around the zones' offset changes and local Monday
 * midnights, where a bucket boundary is easiest to get wrong.
 *
 * The run is deterministic for a seed, printed with any failure: STATISTICS_TEST_SEED=<n> repeats it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prng } from '../../src/db/seed.ts';
import { parseDate, formatDate } from '../../src/services/statistics/calendar.ts';
import { timeline } from '../../src/services/statistics/queries.ts';
import { aLicence, unique } from '../helpers/builders.ts';
import { useTestDatabases } from '../helpers/isolation.ts';
import { callerWith, cellsOf, differences, referenceCells, statisticsService } from '../helpers/statistics.ts';

const SEED = Number(process.env.STATISTICS_TEST_SEED ?? Math.floor(Math.random() * 1_000_000));
const PGLITE = !process.env.TEST_SERVER_URL && !process.env.TEST_REUSE_DB;
/** PGlite is an interpreter in WebAssembly: the same test, smaller. */
const SIZE = PGLITE ? { events: 1200, ranges: 24 } : { events: 5000, ranges: 90 };

/** Zones and the years their ranges are drawn from. */
const ZONES: readonly [zone: string, from: string, to: string][] = [
  ['UTC', '2023-01-01', '2026-12-31'],
  ['Asia/Kolkata', '2023-01-01', '2026-12-31'],
  ['Asia/Kathmandu', '2023-01-01', '2026-12-31'],
  ['Australia/Lord_Howe', '2023-01-01', '2026-12-31'],
  ['America/St_Johns', '2023-01-01', '2026-12-31'],
  ['Pacific/Chatham', '2023-01-01', '2026-12-31'],
  ['Pacific/Kiritimati', '2023-01-01', '2026-12-31'],
  ['Europe/London', '2023-01-01', '2026-12-31'],
  ['America/Los_Angeles', '2023-01-01', '2026-12-31'],
  ['America/Sao_Paulo', '2017-06-01', '2019-06-30'],
  ['Africa/Monrovia', '1971-06-01', '1972-12-31'],
  ['America/New_York', '1883-06-01', '1884-03-31'],
  ['America/Sitka', '1867-09-01', '1867-12-31'],
  ['Pacific/Apia', '2011-11-01', '2012-02-29'],
];

const SOURCES = ['desktop', 'web', 'api', 'installer'];
const KINDS = ['validated', 'activated', 'renewed'];
const DAY = 86_400;

describe(`weekly statistics equal raw SQL (seed ${SEED})`, () => {
  const t = useTestDatabases();

  test('in every zone, for random ranges, around offset changes and local week boundaries', async () => {
    const random = prng(SEED);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const stats = statisticsService(t.databases.data);
    const apps = [unique('Atlas'), unique('Beacon'), unique('Compass')];
    const licences = [];
    for (const app of apps) licences.push(await aLicence().forApplication(app).create());
    licences.push(await aLicence().forApplication(apps[0]!).create());

    // Anchors: every offset change of each zone in its years, and local Monday midnights.
    const anchors: number[] = [];
    for (const [zone, from, to] of ZONES) {
      const first = parseDate(from)! * DAY;
      const last = (parseDate(to)! + 1) * DAY;
      const changes = await timeline(t.databases.data.pool, zone, first, last);
      anchors.push(...changes.offsets.slice(1).map((o) => o.at));
      for (let i = 0; i < 6; i++) {
        const monday = first + Math.floor((random() * (last - first)) / (7 * DAY)) * 7 * DAY;
        const { rows } = await t.databases.data.pool.query<{ at: string }>(
          `select extract(epoch from (date_trunc('week', to_timestamp($1) at time zone $2) at time zone $2))::float8 as at`,
          [monday, zone],
        );
        anchors.push(Number(rows[0]!.at));
      }
    }
    const occurredAt = new Float64Array(SIZE.events);
    for (let i = 0; i < SIZE.events; i++) {
      const roll = random();
      if (roll < 0.55) {
        // Near an anchor: exactly on it, half a second before, or within three hours.
        const anchor = pick(anchors);
        const r = random();
        occurredAt[i] = r < 0.1 ? anchor : r < 0.2 ? anchor - 0.5 : anchor + Math.round((random() * 2 - 1) * 3 * 3600);
      } else {
        const [, from, to] = pick(ZONES);
        const first = parseDate(from)! * DAY;
        occurredAt[i] = first + Math.floor(random() * ((parseDate(to)! + 1) * DAY - first)) + (random() < 0.1 ? 0.25 : 0);
      }
    }
    await t.services.licences.recordEvents({
      licences,
      sources: SOURCES,
      kinds: KINDS,
      licence: Int32Array.from({ length: SIZE.events }, () => Math.floor(random() * licences.length)),
      source: Uint8Array.from({ length: SIZE.events }, () => Math.floor(random() * SOURCES.length)),
      kind: Uint8Array.from({ length: SIZE.events }, () => Math.floor(random() * KINDS.length)),
      occurredAt,
    });

    const caller = callerWith('ANALYST');
    for (let round = 0; round < SIZE.ranges; round++) {
      const [zone, from, to] = pick(ZONES);
      const first = parseDate(from)!;
      const span = parseDate(to)! - first;
      const start = first + Math.floor(random() * span);
      const length = random() < 0.3 ? Math.floor(random() * 10) : Math.floor(random() * 400);
      const query = {
        timeZone: zone,
        from: formatDate(start),
        to: formatDate(Math.min(start + length, first + span)),
        applications: random() < 0.8 ? apps : [apps[0]!, unique('Unknown')],
        sources: random() < 0.7 ? null : [pick(SOURCES), 'no-such-source'],
      };
      const ours = await stats.weekly(caller, query);
      const diff = differences(cellsOf(ours), await referenceCells(t.databases.data, query));
      assert.deepEqual(diff, [], `seed ${SEED}, round ${round}: ${JSON.stringify(query)} differs (rerun with STATISTICS_TEST_SEED=${SEED})`);
      // The shape: every week once, in order, and the three tables agree on the total.
      const weeks = Math.floor((parseDate(ours.to)! - parseDate(ours.summary.rows[0]!.start)!) / 7) + 1;
      assert.equal(ours.summary.rows.length, weeks);
      assert.equal(ours.bySource.rows.length, weeks);
      assert.deepEqual(ours.summary.columns, [...query.applications].sort());
      const frequencyTotal = ours.frequency.reduce((s, f) => s + f.count, 0);
      assert.equal(ours.summary.grandTotal, frequencyTotal);
      assert.equal(ours.bySource.grandTotal, frequencyTotal);
    }
  });
});
