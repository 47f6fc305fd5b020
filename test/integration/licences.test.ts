import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { StrongroomError } from '../../src/errors.ts';
import { aLicence, unique } from '../helpers/builders.ts';
import { useTestDatabases } from '../helpers/isolation.ts';

const code = (err: unknown) => (err instanceof StrongroomError ? err.code : err);

describe('licences, each test in its own rolled-back transaction', () => {
  const t = useTestDatabases();
  const count = async (table: string) => Number((await t.databases.data.pool.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n);

  // The next two tests write the same unique id: both pass, in either order, only because
  // each one's writes are rolled back when it ends.
  test('a licence is created with its defaults and can be read back', async () => {
    const alice = unique('alice');
    const licence = await aLicence().forUser(alice).forApplication('Atlas Desktop').withUniqueId('ISOLATED-1').create();
    assert.equal(licence.username, alice);
    assert.equal(licence.active, true);
    assert.equal(licence.expiresAt, null);
    const read = await t.services.licences.get(licence.id);
    assert.equal(read.uniqueId, 'ISOLATED-1');
    assert.equal(read.application, 'Atlas Desktop');
  });

  test('the same unique id is free again in the next test', async () => {
    const licence = await aLicence().withUniqueId('ISOLATED-1').inactive().create();
    assert.equal(licence.active, false);
  });

  test('a second licence for the same user and application is a CONFLICT, and the test carries on', async () => {
    // Unique names: a reused database (TEST_REUSE_DB=1) may hold anyone's licences, the demo set's included.
    const bob = unique('bob');
    await aLicence().forUser(bob).forApplication('Beacon CLI').create();
    await assert.rejects(aLicence().forUser(bob).forApplication('Beacon CLI').create(), (err) => code(err) === 'CONFLICT');
    // The failed insert did not abort the test's transaction.
    assert.equal((await aLicence().forUser(bob).forApplication('Compass Server').create()).username, bob);
  });

  test('empty fields and unknown licences are refused with codes', async () => {
    await assert.rejects(aLicence().forUser('  ').create(), (err) => code(err) === 'BAD_USER_INPUT');
    await assert.rejects(t.services.licences.get('not-a-uuid'), (err) => code(err) === 'NOT_FOUND');
    await assert.rejects(t.services.licences.get('00000000-0000-4000-8000-000000000000'), (err) => code(err) === 'NOT_FOUND');
    await assert.rejects(
      t.services.licences.recordEvent({ licenceId: '00000000-0000-4000-8000-000000000000', source: 'web', kind: 'validated', occurredAt: new Date() }),
      (err) => code(err) === 'NOT_FOUND',
    );
  });

  test('events take the application of their licence', async () => {
    const licence = await aLicence().forApplication('Echo Plugin').withEvent('activated', new Date('2025-03-01T10:00:00Z')).create();
    assert.equal(licence.events.length, 1);
    assert.equal(licence.events[0]!.application, 'Echo Plugin');
    assert.equal(licence.events[0]!.occurredAt.toISOString(), '2025-03-01T10:00:00.000Z');
  });

  test('a batch of events is written in one statement', async () => {
    const a = await aLicence().forApplication('Forge SDK').create();
    const b = await aLicence().forApplication('Delta Mobile').create();
    const before = await count('licensing.licence_events');
    const written = await t.services.licences.recordEvents({
      licences: [a, b],
      sources: ['web', 'api'],
      kinds: ['validated'],
      licence: Int32Array.from([0, 1, 1]),
      source: Uint8Array.from([0, 1, 0]),
      kind: Uint8Array.from([0, 0, 0]),
      occurredAt: Float64Array.from([1_700_000_000, 1_700_000_060, 1_700_000_120]),
    });
    assert.equal(written, 3);
    assert.equal((await count('licensing.licence_events')) - before, 3);
    const rows = await t.databases.data.pool.query<{ application: string; source: string }>(
      `select application, source from licensing.licence_events where licence_id = $1 order by occurred_at`,
      [b.id],
    );
    assert.deepEqual(rows.rows, [
      { application: 'Delta Mobile', source: 'api' },
      { application: 'Delta Mobile', source: 'web' },
    ]);
  });

  test("the application's own transactions keep their meaning inside a test", async () => {
    const { db } = t.databases.data;
    const before = await count('licensing.licences');
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.execute(
          sql`insert into licensing.licences (username, application, unique_id, licence_key) values (${unique('tx')}, 'A', ${unique('TX')}, 'k')`,
        );
        throw new Error('abandon');
      }),
      /abandon/,
    );
    assert.equal(await count('licensing.licences'), before, 'a rolled-back application transaction leaves nothing');
    await db.transaction(async (tx) => {
      await tx.execute(sql`insert into licensing.licences (username, application, unique_id, licence_key) values (${unique('tx')}, 'B', ${unique('TX')}, 'k')`);
    });
    assert.equal(await count('licensing.licences'), before + 1, 'a committed one is visible to the rest of the test');
  });

  test('the data and auth databases are reached through their own connections', async () => {
    const data = await t.databases.data.pool.query<{ db: string }>('select current_database() as db');
    const auth = await t.databases.auth.pool.query<{ db: string }>('select current_database() as db');
    assert.equal(data.rows[0]!.db, new URL(process.env.TEST_DATABASE_URL!).pathname.slice(1));
    assert.equal(auth.rows[0]!.db, new URL(process.env.TEST_AUTH_DATABASE_URL ?? process.env.TEST_DATABASE_URL!).pathname.slice(1));
  });
});
