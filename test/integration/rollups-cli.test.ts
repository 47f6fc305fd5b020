/**
 * `npm run rollups` and the rollups' write paths at the scale of a seed, on a scratch database:
 * db:seed (COPY on PostgreSQL, INSERT on PGlite) and its re-run (a cascade from deleted
 * licences) leave them current; `check` finds a tampered row; `rebuild`, in batches or in one
 * transaction, repairs it with a progress bar; TRUNCATE empties them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createScratch, runScript, type Scratch } from '../helpers/scratch.ts';

describe('npm run rollups', () => {
  let scratch: Scratch;
  before(async () => {
    scratch = await createScratch();
    const migrated = await runScript('db-migrate.ts', [], scratch.env);
    assert.equal(migrated.code, 0, migrated.stderr);
  });
  after(() => scratch.drop());

  const rollups = (...args: string[]) => runScript('rollups.ts', args, scratch.env);
  const seed = () => runScript('db-seed.ts', ['--events', '6000', '--licences', '60', '--until', '2025-01-01', '--batch', '2500'], scratch.env);

  test('db:seed leaves the rollups current, through COPY or INSERT, and so does seeding again', async () => {
    const first = await seed();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, scratch.kind === 'postgres' ? /\(copy\)/ : /\(insert\)/);
    const check = await rollups('check');
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /the rollups match the raw events/);
    // A second run deletes the seeded licences first: their events go by cascade.
    assert.equal((await seed()).code, 0);
    assert.equal((await rollups('check')).code, 0);
  });

  test('check names a rollup row that differs; rebuild repairs it, showing progress', async () => {
    await scratch.withClient((c) =>
      c.query(
        `update reporting.licence_event_rollups set events = events + 5
          where (bucket_seconds, bucket_start, series) = (select bucket_seconds, bucket_start, series from reporting.licence_event_rollups where bucket_seconds = 604800 limit 1)`,
      ),
    );
    const found = await rollups('check');
    assert.equal(found.code, 1);
    assert.match(found.stdout, /^604800 s from \d{4}-\d{2}-\d{2}T00:00:00\.000Z \[.+\]: stored (\d+), raw events \d+$/m);
    assert.match(found.stderr, /1 rollup rows differ from the raw events; run npm run rollups -- rebuild/);
    const rebuilt = await rollups('rebuild', '--batch-weeks', '8');
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /rebuilt 53 weeks in 7 transaction\(s\)/);
    assert.match(rebuilt.stderr, /weeks +\[#+\] 100% 53\/53/);
    assert.equal((await rollups('check')).code, 0);
  });

  test('rebuild --single-transaction restores deleted rows and removes stray ones', async () => {
    await scratch.withClient((c) =>
      c.query(`delete from reporting.licence_event_rollups where bucket_seconds = 21600;
               insert into reporting.licence_event_rollups values (604800, '1999-01-04 00:00+00', 1, 7)`),
    );
    assert.equal((await rollups('check')).code, 1);
    const rebuilt = await rollups('rebuild', '--single-transaction');
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /in 1 transaction\(s\)/);
    assert.equal((await rollups('check')).code, 0);
  });

  test('truncating the events empties the rollups', async () => {
    await scratch.withClient((c) => c.query('truncate licensing.licence_events'));
    const left = await scratch.withClient(async (c) => Number((await c.query('select count(*) as n from reporting.licence_event_rollups')).rows[0].n));
    assert.equal(left, 0);
    assert.equal((await rollups('check')).code, 0);
  });

  test('an unknown command or option is a usage error', async () => {
    const unknown = await rollups('frobnicate');
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.equal((await rollups('rebuild', '--batch-weeks', 'lots')).code, 64);
    assert.equal((await rollups('rebuild', '--from', '2024-13-01')).code, 64);
  });
});
