import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { admin, createScratch, runScript, scratchName, serverUrl, type Scratch } from '../helpers/scratch.ts';

const noStack = /\n\s+at /;

describe('db:reset, db:migrate and db:seed', () => {
  let scratch: Scratch;
  before(async () => {
    scratch = await createScratch();
  });
  after(() => scratch.drop());

  const count = (table: string) => scratch.withClient(async (c) => Number((await c.query(`select count(*) as n from ${table}`)).rows[0].n));

  test('db:reset runs twice in a row, prints each step, and leaves a schema that is not ours intact', async () => {
    const first = await runScript('db-reset.ts', [], scratch.env);
    assert.equal(first.code, 0, first.stderr);
    await scratch.withClient((c) => c.query(`create schema legacy; create table legacy.keep (v text); insert into legacy.keep values ('mine')`));
    const second = await runScript('db-reset.ts', [], scratch.env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /data database \(.+\): dropped licensing, reporting/);
    assert.match(second.stdout, /data database \(.+\): migrated, applied 0000_init/);
    assert.match(second.stdout, /auth database \(.+\): dropped auth/);
    assert.match(second.stdout, /fixtures demo: licensing\.licences \(data\): 6 licences/);
    assert.deepEqual(await scratch.withClient(async (c) => (await c.query('select v from legacy.keep')).rows), [{ v: 'mine' }]);
    assert.equal(await count('licensing.licences'), 6, 'the demo set once, not twice');
  });

  test('db:reset -- --fixtures none leaves empty schemas; an unknown set is a usage error', async () => {
    const none = await runScript('db-reset.ts', ['--fixtures', 'none'], scratch.env);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(await count('licensing.licences'), 0);
    const bad = await runScript('db-reset.ts', ['--fixtures', 'lots'], scratch.env);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /unknown fixture set "lots"; known sets: demo, none/);
  });

  test('db:reset refuses with NODE_ENV=production unless --force, touching nothing', async () => {
    await runScript('db-reset.ts', [], scratch.env);
    const refused = await runScript('db-reset.ts', [], { ...scratch.env, NODE_ENV: 'production' });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /refusing to reset with NODE_ENV=production.*--force/);
    assert.equal(await count('licensing.licences'), 6);
  });

  test('db:reset refuses, dropping nothing, when something outside our schemas depends on them', async () => {
    await runScript('db-reset.ts', [], scratch.env);
    await scratch.withClient((c) =>
      c.query(`create schema if not exists legacy; create view legacy.active_licences as select id from licensing.licences where active`),
    );
    try {
      const refused = await runScript('db-reset.ts', [], scratch.env);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /would also remove objects that are not Strongroom's: relation legacy\.active_licences/);
      assert.doesNotMatch(refused.stderr, noStack);
      assert.equal(await count('legacy.active_licences'), 5, 'the foreign view and our rows are still there');
    } finally {
      await scratch.withClient((c) => c.query('drop view legacy.active_licences'));
    }
  });

  test('db:reset as a role without rights says so and drops nothing', { skip: serverUrl() ? false : 'needs a PostgreSQL server (roles)' }, async () => {
    const before = await count('licensing.licences');
    const role = scratchName('norights');
    const url = new URL(scratch.env.DATABASE_URL!);
    await admin((c) => c.query(`create role "${role}" login`));
    const asRole = (u: string) => {
      const x = new URL(u);
      x.username = role;
      return x.toString();
    };
    const result = await runScript('db-reset.ts', [], { DATABASE_URL: asRole(url.toString()), AUTH_DATABASE_URL: asRole(scratch.env.AUTH_DATABASE_URL!) });
    assert.equal(result.code, 77, result.stderr);
    assert.match(result.stderr, /cannot reset, nothing was dropped/);
    // The schemas belong to whoever ran the migrations: the user of DATABASE_URL (postgres in CI).
    const owner = (await admin((c) => c.query<{ u: string }>('select current_user as u'))).rows[0]!.u;
    assert.match(result.stderr, new RegExp(`data database: role strongroom_test_\\w+ may not drop schema licensing \\(owned by ${owner}\\)`));
    assert.match(result.stderr, /may not create schemas in database/);
    assert.equal(await count('licensing.licences'), before);
  });

  test('db:migrate applies what is pending and then says each database is up to date', async () => {
    assert.equal((await runScript('db-migrate.ts', [], scratch.env)).code, 0);
    const result = await runScript('db-migrate.ts', [], scratch.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^data database \(.+\): up to date$/m);
    assert.match(result.stdout, /^auth database \(.+\): up to date$/m);
  });

  test('db:seed writes the same rows for the same seed and replaces its earlier rows', async () => {
    const args = ['--events', '3000', '--licences', '40', '--seed', '5', '--until', '2025-06-01'];
    const fingerprint = () =>
      scratch.withClient(
        async (c) =>
          (
            await c.query(
              `select md5(string_agg(l.unique_id || l.username || l.application || e.source || e.kind || e.occurred_at::text, ',' order by e.occurred_at, l.unique_id, e.kind, e.source)) as h, count(*) as n
               from licensing.licence_events e join licensing.licences l on l.id = e.licence_id where l.unique_id like 'SEED-%'`,
            )
          ).rows[0] as { h: string; n: string },
      );
    const others = await count(`licensing.licences where unique_id not like 'SEED-%'`);
    const first = await runScript('db-seed.ts', args, scratch.env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /wrote 40 licences, then 3000 events \((copy|insert)\) in [\d.]+ s \(\d+ events\/s\)/);
    // COPY where the server takes it; the embedded PGlite has no COPY FROM STDIN over the wire.
    assert.match(first.stdout, scratch.kind === 'postgres' ? /events \(copy\)/ : /events \(insert\)/);
    assert.match(first.stderr, /events +\[#+\] 100% 3,000\/3,000/);
    const a = await fingerprint();
    const again = await runScript('db-seed.ts', args, scratch.env);
    assert.match(again.stdout, /removed 40 earlier seeded licences/);
    assert.deepEqual(await fingerprint(), a);
    assert.equal(a.n, '3000');
    // Both write paths give the same rows.
    const other = await runScript('db-seed.ts', [...args, '--via', scratch.kind === 'postgres' ? 'insert' : 'copy'], scratch.env);
    if (scratch.kind === 'postgres') {
      assert.equal(other.code, 0, other.stderr);
      assert.match(other.stdout, /events \(insert\)/);
      assert.deepEqual(await fingerprint(), a);
    } else {
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /does not take COPY FROM STDIN/);
    }
    assert.equal(await count(`licensing.licences where unique_id not like 'SEED-%'`), others, 'other rows are left alone');
  });

  test('db:seed -- --events abc is a usage error (exit 64) before connecting to anything', async () => {
    const result = await runScript('db-seed.ts', ['--events', 'abc'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(result.code, 64);
    assert.match(result.stderr, /--events must be a whole number, got "abc"/);
    assert.match(result.stderr, /usage: npm run db:seed/);
    const unknown = await runScript('db-seed.ts', ['--eventz', '5'], {});
    assert.equal(unknown.code, 64);
    const via = await runScript('db-seed.ts', ['--via', 'carrier-pigeon'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(via.code, 64);
    assert.match(via.stderr, /--via must be copy or insert, got "carrier-pigeon"/);
  });

  test('a database that does not answer is named, with its host, without password or stack trace', async () => {
    const data = await runScript('db-migrate.ts', [], { DATABASE_URL: 'postgres://nobody:s3cret@127.0.0.1:1/nowhere' });
    assert.equal(data.code, 69);
    assert.match(data.stderr, /Cannot connect to the data database at 127\.0\.0\.1:1\/nowhere: ECONNREFUSED/);
    assert.doesNotMatch(data.stderr, /s3cret/);
    assert.doesNotMatch(data.stderr, noStack);
    if (scratch.kind === 'postgres') {
      const auth = await runScript('db-reset.ts', [], { DATABASE_URL: scratch.env.DATABASE_URL!, AUTH_DATABASE_URL: 'postgres://x:s3cret@127.0.0.1:1/authdb' });
      assert.equal(auth.code, 69);
      assert.match(auth.stderr, /Cannot connect to the auth database at 127\.0\.0\.1:1\/authdb/);
      assert.doesNotMatch(auth.stderr, /s3cret/);
    }
  });
});
