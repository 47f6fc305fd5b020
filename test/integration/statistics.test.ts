/**
 * The statistics service on a real database and worker pool: the weekly tables, who may read
 * them, every kind of bad input, the rollups on each write path, and the licence summary.
 * Each test uses applications of its own, so other tests' events never show.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StrongroomError } from '../../src/errors.ts';
import { ANONYMOUS } from '../../src/services/auth/caller.ts';
import { HOUR, hourKept, ROLLUP_ORIGIN } from '../../src/services/statistics/buckets.ts';
import { WEEK_SECONDS } from '../../src/services/statistics/calendar.ts';
import { checkRollups } from '../../src/services/statistics/rollups.ts';
import { aLicence, unique } from '../helpers/builders.ts';
import { useTestDatabases } from '../helpers/isolation.ts';
import { callerWith, cellsOf, differences, referenceCells, statisticsService } from '../helpers/statistics.ts';

const analyst = callerWith('ANALYST');
const codeOf = (err: unknown) => (err instanceof StrongroomError ? err.code : err);
const rejectsWith = (promise: Promise<unknown>, code: string, field?: string) =>
  assert.rejects(promise, (err: unknown) => {
    assert.equal(codeOf(err), code);
    if (field !== undefined) assert.equal((err as StrongroomError).extensions.field, field);
    return true;
  });

describe('weekly statistics', () => {
  const t = useTestDatabases();

  test('one call answers the summary, the frequency and the by-source tables, weeks starting Monday 00:00 local', async () => {
    const stats = statisticsService(t.databases.data);
    const atlas = unique('Atlas');
    const beacon = unique('Beacon');
    // Monday 2026-03-30 00:00 in Kolkata (UTC+5:30) is Sunday 18:30 UTC.
    await aLicence()
      .forApplication(atlas)
      .withEvent('validated', new Date('2026-03-29T18:29:59.999Z'), 'web')
      .withEvent('validated', new Date('2026-03-29T18:30:00Z'), 'web')
      .withEvent('activated', new Date('2026-04-01T10:00:00Z'), 'desktop')
      .create();
    await aLicence().forApplication(beacon).withEvent('validated', new Date('2026-04-12T18:29:00Z'), 'api').create();

    const result = await stats.weekly(analyst, { from: '2026-03-23', to: '2026-04-12', timeZone: 'asia/kolkata', applications: [beacon, atlas] });
    assert.equal(result.timeZone, 'Asia/Kolkata');
    assert.deepEqual(result.applications, [atlas, beacon].sort());
    assert.deepEqual(result.summary, {
      columns: [atlas, beacon].sort(),
      rows: [
        { key: '2026-W13', start: '2026-03-23', values: atlas < beacon ? [1, 0] : [0, 1], total: 1 },
        { key: '2026-W14', start: '2026-03-30', values: atlas < beacon ? [2, 0] : [0, 2], total: 2 },
        { key: '2026-W15', start: '2026-04-06', values: atlas < beacon ? [0, 1] : [1, 0], total: 1 },
      ],
      totals: atlas < beacon ? [3, 1] : [1, 3],
      grandTotal: 4,
    });
    assert.deepEqual(result.bySource.columns, ['api', 'desktop', 'web']);
    assert.deepEqual(
      result.bySource.rows.map((r) => r.values),
      [
        [0, 0, 1],
        [0, 1, 1],
        [1, 0, 0],
      ],
    );
    assert.deepEqual(result.frequency, [
      { kind: 'validated', count: 3, share: 0.75 },
      { kind: 'activated', count: 1, share: 0.25 },
    ]);
  });

  test('events recorded a moment before the query count', async () => {
    const stats = statisticsService(t.databases.data);
    const app = unique('Echo');
    const licence = await aLicence().forApplication(app).create();
    const ask = () => stats.weekly(analyst, { from: '2026-05-04', to: '2026-05-10', applications: [app] });
    assert.equal((await ask()).summary.grandTotal, 0);
    await t.services.licences.recordEvent({ licenceId: licence.id, source: 'web', kind: 'validated', occurredAt: new Date('2026-05-06T12:00:00Z') });
    assert.equal((await ask()).summary.grandTotal, 1);
    await t.services.licences.recordEvent({ licenceId: licence.id, source: 'api', kind: 'renewed', occurredAt: new Date('2026-05-10T23:59:59Z') });
    assert.equal((await ask()).summary.grandTotal, 2);
  });

  test('analysts and admins may read it; users and anonymous callers are refused before any work', async () => {
    const stats = statisticsService(t.databases.data);
    const range = { from: '2026-01-01', to: '2026-01-31' };
    assert.equal((await stats.weekly(callerWith('ADMIN'), range)).summary.rows.length, 5);
    await rejectsWith(stats.weekly(callerWith('USER'), range), 'FORBIDDEN');
    await rejectsWith(stats.weekly(ANONYMOUS, range), 'UNAUTHENTICATED');
    await rejectsWith(stats.weekly({ kind: 'invalid', reason: 'the token has expired' }, range), 'UNAUTHENTICATED');
    await rejectsWith(stats.licenceSummary(callerWith('USER')), 'FORBIDDEN');
  });

  test('bad input is refused with BAD_USER_INPUT naming the argument', async () => {
    const stats = statisticsService(t.databases.data, { maxRangeDays: 366 });
    await rejectsWith(stats.weekly(analyst, { from: '2026-02-01', to: '2026-01-31' }), 'BAD_USER_INPUT', 'to');
    await rejectsWith(stats.weekly(analyst, { from: '2025-01-01', to: '2026-01-02' }), 'BAD_USER_INPUT', 'to');
    await rejectsWith(stats.weekly(analyst, { from: '2026-02-30', to: '2026-03-01' }), 'BAD_USER_INPUT', 'from');
    await rejectsWith(stats.weekly(analyst, { from: '2026-01-01', to: 'soon' }), 'BAD_USER_INPUT', 'to');
    await rejectsWith(stats.weekly(analyst, { from: '2026-01-01', to: '2026-01-31', timeZone: 'Mars/Olympus_Mons' }), 'BAD_USER_INPUT', 'timeZone');
    await rejectsWith(stats.weekly(analyst, { from: '2026-01-01', to: '2026-01-31', timeZone: "UTC'; drop table x; --" }), 'BAD_USER_INPUT', 'timeZone');
    await rejectsWith(stats.weekly(analyst, { from: '2026-01-01', to: '2026-01-31', applications: [] }), 'BAD_USER_INPUT', 'applications');
    await rejectsWith(stats.weekly(analyst, { from: '2026-01-01', to: '2026-01-31', sources: [] }), 'BAD_USER_INPUT', 'sources');
    const many = Array.from({ length: 101 }, (_, i) => `app-${i}`);
    await rejectsWith(stats.weekly(analyst, { from: '2026-01-01', to: '2026-01-31', applications: many }), 'BAD_USER_INPUT', 'applications');
    // 366 days is the limit here: a leap year fits.
    assert.equal((await stats.weekly(analyst, { from: '2024-01-01', to: '2024-12-31' })).from, '2024-01-01');
  });

  test('unknown applications, ranges in the future and before the first event answer with zeros', async () => {
    const stats = statisticsService(t.databases.data);
    const app = unique('Forge');
    await aLicence().forApplication(app).withEvent('validated', new Date('2026-06-10T09:00:00Z')).create();
    const unknown = await stats.weekly(analyst, { from: '2026-06-08', to: '2026-06-14', applications: [app, 'No Such App'], sources: ['nowhere'] });
    assert.deepEqual(unknown.summary.columns, ['No Such App', app].sort());
    assert.deepEqual(unknown.summary.rows[0]!.values, [0, 0]);
    assert.deepEqual(unknown.bySource, {
      columns: ['nowhere'],
      rows: [{ key: '2026-W24', start: '2026-06-08', values: [0], total: 0 }],
      totals: [0],
      grandTotal: 0,
    });
    assert.deepEqual(unknown.frequency, []);
    const future = await stats.weekly(analyst, { from: '2999-01-01', to: '2999-01-20', applications: [app] });
    assert.deepEqual(
      future.summary.rows.map((r) => [r.key, r.start, r.total]),
      [
        ['2999-W01', '2998-12-31', 0],
        ['2999-W02', '2999-01-07', 0],
        ['2999-W03', '2999-01-14', 0],
      ],
    );
    const past = await stats.weekly(analyst, { from: '1900-01-01', to: '1900-01-07', applications: [app], timeZone: 'Europe/Amsterdam' });
    assert.deepEqual(past.summary.rows, [{ key: '1900-W01', start: '1900-01-01', values: [0], total: 0 }]);
  });
});

describe('rollups on every write path', () => {
  const t = useTestDatabases();

  const assertMatchesRaw = async (apps: string[], timeZone = 'Asia/Kathmandu') => {
    const check = await checkRollups(t.databases.data.pool, { applications: apps });
    assert.deepEqual(check.differences, [], 'the stored rollups equal a recount');
    const query = { from: '2026-01-01', to: '2026-12-31', timeZone, applications: apps };
    const ours = await statisticsService(t.databases.data).weekly(analyst, query);
    assert.deepEqual(differences(cellsOf(ours), await referenceCells(t.databases.data, query)), []);
  };

  test('single events, batches, updates and a licence deleted with its events keep them current', async () => {
    const apps = [unique('Atlas'), unique('Beacon')];
    const a = await aLicence().forApplication(apps[0]!).withEvent('validated', new Date('2026-03-01T18:20:00Z')).create();
    const b = await aLicence().forApplication(apps[1]!).create();
    await t.services.licences.recordEvents({
      licences: [a, b],
      sources: ['web', 'api'],
      kinds: ['validated', 'renewed'],
      licence: Int32Array.from([0, 1, 1, 0, 1]),
      source: Uint8Array.from([0, 1, 0, 1, 1]),
      kind: Uint8Array.from([0, 1, 0, 0, 1]),
      occurredAt: Float64Array.from([1_772_300_000, 1_772_330_000, 1_775_000_000.5, 1_780_000_000, 1_780_000_100]),
    });
    await assertMatchesRaw(apps);
    const pool = t.databases.data.pool;
    // An update moving events across week, kind and source boundaries.
    await pool.query(`update licensing.licence_events set occurred_at = occurred_at + interval '3 days 5 hours', kind = 'expired' where licence_id = $1`, [
      b.id,
    ]);
    await assertMatchesRaw(apps);
    // An update that changes nothing counted nets out.
    await pool.query('update licensing.licence_events set licence_id = licence_id where licence_id = $1', [a.id]);
    await assertMatchesRaw(apps);
    await pool.query('delete from licensing.licences where id = $1', [b.id]);
    await assertMatchesRaw(apps);
    const after = await statisticsService(t.databases.data).weekly(analyst, { from: '2026-01-01', to: '2026-12-31', applications: apps });
    assert.equal(after.summary.totals[after.summary.columns.indexOf(apps[1]!)], 0, 'the deleted licence no longer counts');
  });

  test('hours are kept exactly where the reader looks for them: Sunday 06:00 to Monday 12:00 UTC', async () => {
    const app = unique('Compass');
    const licence = await aLicence().forApplication(app).create();
    const monday = ROLLUP_ORIGIN + 1370 * WEEK_SECONDS; // 2026-04-06
    const hours = Array.from({ length: 168 }, (_, h) => monday - 3 * 86_400 + h * HOUR + 600);
    await t.services.licences.recordEvents({
      licences: [licence],
      sources: ['web'],
      kinds: ['validated'],
      licence: new Int32Array(hours.length),
      source: new Uint8Array(hours.length),
      kind: new Uint8Array(hours.length),
      occurredAt: Float64Array.from(hours),
    });
    const { rows } = await t.databases.data.pool.query<{ at: number }>(
      `select extract(epoch from r.bucket_start)::float8 as at from reporting.licence_event_rollups r
         join reporting.licence_event_series s on s.id = r.series where s.application = $1 and r.bucket_seconds = 3600 order by 1`,
      [app],
    );
    assert.deepEqual(
      rows.map((r) => r.at),
      hours.map((h) => h - 600).filter(hourKept),
    );
    assert.equal(rows.length, 30);
  });
});

describe('licence summary', () => {
  const t = useTestDatabases();
  const now = new Date('2026-06-01T12:00:00Z');
  const day = 86_400_000;

  test('counts each licence once per application and lists the soonest expiring, capped', async () => {
    const stats = statisticsService(t.databases.data, { now: () => now, expiringLimit: 2 });
    const app = unique('Delta');
    await aLicence()
      .forApplication(app)
      .expiringAt(new Date(now.getTime() + 3 * day))
      .withUniqueId(unique('SOON'))
      .create();
    await aLicence()
      .forApplication(app)
      .expiringAt(new Date(now.getTime() + 1 * day))
      .inactive()
      .withUniqueId(unique('SOONER'))
      .create();
    await aLicence()
      .forApplication(app)
      .expiringAt(new Date(now.getTime() + 20 * day))
      .create();
    await aLicence()
      .forApplication(app)
      .expiringAt(new Date(now.getTime() + 40 * day))
      .create();
    await aLicence()
      .forApplication(app)
      .expiringAt(new Date(now.getTime() - day))
      .create();
    await aLicence().forApplication(app).expiringAt(null).inactive().create();
    await aLicence().forApplication(app).expiringAt(null).create();

    const summary = await stats.licenceSummary(analyst);
    assert.equal(summary.asOf, now);
    assert.deepEqual(
      summary.applications.find((a) => a.application === app),
      { application: app, active: 4, inactive: 2, expired: 1, total: 7 },
    );
    assert.ok(summary.totals.total >= 7 && summary.totals.total === summary.totals.active + summary.totals.inactive + summary.totals.expired);
    const mine = (await stats.licenceSummary(analyst, { expiringWithinDays: 30 })).expiring;
    assert.equal(mine.length, 2, 'capped at the limit');
    assert.ok(mine[0]!.expiresAt <= mine[1]!.expiresAt, 'soonest first');
    const wide = await statisticsService(t.databases.data, { now: () => now }).licenceSummary(analyst, { expiringWithinDays: 30 });
    const ours = wide.expiring.filter((l) => l.application === app);
    assert.deepEqual(
      ours.map((l) => [l.active, l.expiresAt.getTime() - now.getTime()]),
      [
        [false, day],
        [true, 3 * day],
        [true, 20 * day],
      ],
    );
    assert.ok(wide.expiringCount >= 3);
    await rejectsWith(stats.licenceSummary(analyst, { expiringWithinDays: -1 }), 'BAD_USER_INPUT', 'expiringWithinDays');
    await rejectsWith(stats.licenceSummary(analyst, { expiringWithinDays: 3651 }), 'BAD_USER_INPUT', 'expiringWithinDays');
  });
});
