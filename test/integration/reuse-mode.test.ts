/**
 * `TEST_REUSE_DB=1 npm test` (the runner in scripts/test.ts) against a scratch database:
 * it must run tests without any DDL, and refuse a database whose migrations differ.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { repoMigrations } from '../../src/db/migrate.ts';
import { createScratch, runScript, type Scratch } from '../helpers/scratch.ts';

/** Everything DDL could change, in a comparable form: relations, migration records, row counts. */
async function snapshot(c: pg.Client) {
  const relations = await c.query(
    `select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
      order by 1, 2`,
  );
  const exists = async (name: string) => (await c.query(`select to_regclass($1) is not null as found`, [name])).rows[0].found as boolean;
  const migrations = [];
  for (const table of ['strongroom.migrations_data', 'strongroom.migrations_auth']) {
    if (await exists(table)) migrations.push(...(await c.query(`select '${table}' as t, id, hash, created_at from ${table} order by id`)).rows);
  }
  const rows = (await exists('licensing.licences'))
    ? (await c.query(`select (select count(*) from licensing.licences) as licences, (select count(*) from licensing.licence_events) as events`)).rows
    : [];
  return { relations: relations.rows, migrations, rows };
}

/** On a real server, an event trigger counts every DDL command; a sequence keeps the count even through rollbacks. */
const WATCH_DDL = `
  create schema ddl_watch;
  create sequence ddl_watch.commands;
  create function ddl_watch.count() returns event_trigger language plpgsql as $$ begin perform nextval('ddl_watch.commands'); end $$;
  create event trigger strongroom_test_ddl_watch on ddl_command_start execute function ddl_watch.count();`;

describe('the test runner in reuse mode (TEST_REUSE_DB=1)', () => {
  let scratch: Scratch;
  before(async () => {
    scratch = await createScratch();
    const migrated = await runScript('db-migrate.ts', [], scratch.env);
    assert.equal(migrated.code, 0, migrated.stderr);
  });
  after(async () => {
    await scratch.drop();
  });

  const reuseRun = () => runScript('test.ts', ['integration/licences.test'], { ...scratch.env, TEST_REUSE_DB: '1' }, 240_000);

  test('runs the tests on the database as it is: no DDL, nothing left behind', async () => {
    const watching = scratch.kind === 'postgres';
    const which = ['data', 'auth'] as const;
    if (watching) for (const db of which) await scratch.withClient((c) => c.query(WATCH_DDL), db);
    const snapshots = async () => Promise.all(which.map((db) => scratch.withClient(snapshot, db)));
    const ddlCount = async () =>
      Promise.all(which.map((db) => scratch.withClient(async (c) => (await c.query(`select last_value, is_called from ddl_watch.commands`)).rows[0], db)));
    if (watching) {
      // The watch sees DDL even when it is rolled back.
      const counted = await ddlCount();
      await scratch.withClient((c) => c.query('begin; create table public.probe (x int); rollback;'));
      assert.notDeepEqual(await ddlCount(), counted, 'the DDL watch works');
    }
    const before = await snapshots();
    const ddlBefore = watching ? await ddlCount() : undefined;
    const run = await reuseRun();
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /# databases: reused as they are/);
    // TAP summary on Node 20, the spec reporter's on Node 24 (both pick by whether stdout is a terminal).
    assert.match(run.stdout, /(#|ℹ) pass [1-9]/);
    assert.match(run.stdout, /(#|ℹ) fail 0/);
    assert.deepEqual(await snapshots(), before);
    if (watching) assert.deepEqual(await ddlCount(), ddlBefore, 'no DDL command ran');
  });

  test('stops before any test when a migration is missing, naming the database and the migration', async () => {
    const removed = await scratch.withClient(
      async (c) => (await c.query(`delete from strongroom.migrations_data where id = (select max(id) from strongroom.migrations_data) returning *`)).rows[0],
    );
    try {
      const run = await reuseRun();
      assert.equal(run.code, 1);
      const latest = (await repoMigrations('data')).at(-1)!.tag;
      assert.match(run.stderr, new RegExp(`the data database \\(.+\\) is missing migration ${latest}`));
      assert.match(run.stderr, /Run npm run db:migrate/);
      assert.doesNotMatch(run.stdout, /(#|ℹ) pass/);
    } finally {
      await scratch.withClient((c) =>
        c.query(`insert into strongroom.migrations_data (id, hash, created_at) values ($1, $2, $3)`, [removed.id, removed.hash, removed.created_at]),
      );
    }
  });

  test('stops when a database has a migration this code does not know', async () => {
    await scratch.withClient((c) => c.query(`insert into strongroom.migrations_auth (hash, created_at) values ('f00dfeedcafe0123', 4102444800000)`), 'auth');
    try {
      const run = await reuseRun();
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /the auth database \(.+\) has a migration this code does not know, recorded as created 2100-01-01T00:00:00\.000Z \(hash f00dfeedcafe\)/,
      );
    } finally {
      await scratch.withClient((c) => c.query(`delete from strongroom.migrations_auth where hash = 'f00dfeedcafe0123'`), 'auth');
    }
  });
});
