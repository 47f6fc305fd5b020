import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { createScratchDatabase, databaseUrl, dropScratchDatabases, scratchName, withClient } from '../../src/db/scratch.ts';

const server = process.env.TEST_SERVER_URL;
const prefix = process.env.TEST_DB_PREFIX ?? 'strongroom_test_x';
const exists = (name: string) => withClient(server!, async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);

describe('scratch databases', () => {
  test('a name that would need quoting in DDL is refused before anything runs', () => {
    assert.throws(() => scratchName('Robert"; drop database postgres; --'), TypeError);
    assert.throws(() => scratchName('x'.repeat(60)), TypeError);
    assert.match(scratchName('strongroom_bench'), /^strongroom_bench_[0-9a-f]{8}$/);
    assert.equal(databaseUrl('postgres://u:p@h:5433/postgres?sslmode=disable', 'other'), 'postgres://u:p@h:5433/other?sslmode=disable');
  });

  test('one is created empty, answers at its URL, and is dropped even with a connection open', { skip: !server && 'needs a PostgreSQL server' }, async () => {
    const scratch = await createScratchDatabase(server!, scratchName(`${prefix}_one`));
    assert.ok(await exists(scratch.name));
    const client = await withClient(scratch.url, async (c) => (await c.query<{ db: string }>('select current_database() as db')).rows[0]!.db);
    assert.equal(client, scratch.name);
    const open = new pg.Client({ connectionString: scratch.url });
    open.on('error', () => {}); // the drop ends this connection
    await open.connect();
    await scratch.drop();
    await open.end().catch(() => {});
    assert.equal(await exists(scratch.name), false);
    await scratch.drop();
  });

  test('everything under a prefix, databases and roles, is dropped together', { skip: !server && 'needs a PostgreSQL server' }, async () => {
    const group = scratchName(`${prefix}_group`);
    const a = await createScratchDatabase(server!, `${group}_a`);
    const b = await createScratchDatabase(server!, `${group}_b`);
    const other = await createScratchDatabase(server!, scratchName(`${prefix}_other`));
    await withClient(server!, (c) => c.query(`create role "${group}_role"`));
    assert.deepEqual((await dropScratchDatabases(server!, group)).sort(), [a.name, b.name]);
    assert.equal(await exists(a.name), false);
    assert.ok(await exists(other.name), 'a database outside the prefix stays');
    const roles = await withClient(server!, async (c) => (await c.query('select 1 from pg_roles where rolname = $1', [`${group}_role`])).rowCount);
    assert.equal(roles, 0);
    await other.drop();
  });
});
