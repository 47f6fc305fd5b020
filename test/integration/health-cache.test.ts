/**
 * Query.health reuses a recent database probe (HEALTH_CACHE_MS) and shares one in flight;
 * /readyz does not. Checked against the real test databases: a pool that has been shut down
 * cannot answer, so a cached answer is visible as OK where a fresh probe says DEGRADED.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDatabases, type Databases } from '../../src/db/client.ts';
import { createSystemService } from '../../src/services/system.ts';

let databases: Databases;

before(async () => {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the suite with `npm test`.');
  databases = await openDatabases({ databaseUrl: url, authDatabaseUrl: process.env.TEST_AUTH_DATABASE_URL ?? url, embeddedDir: undefined, poolMax: 2 });
});

after(() => databases.close());

test('within HEALTH_CACHE_MS health answers from the last probe; with 0 every call probes', async () => {
  const cached = createSystemService(databases, { healthCacheMs: 60_000 });
  const uncached = createSystemService(databases, { healthCacheMs: 0 });
  assert.equal((await cached.health()).status, 'OK');
  assert.equal((await uncached.health()).status, 'OK');

  await databases.data.pool.end(); // the data database stops answering this process

  assert.equal((await cached.health()).status, 'OK', 'still the probe from a moment ago');
  const fresh = await uncached.health();
  assert.equal(fresh.status, 'DEGRADED');
  assert.deepEqual(
    fresh.databases.map((d) => [d.name, d.reachable, d.roundTripMs]),
    [
      ['data', false, null],
      ['auth', true, fresh.databases[1]!.roundTripMs],
    ],
  );
  assert.equal((await uncached.ready()).ready, false, 'readiness always probes');
});

test('callers that arrive while a probe is in flight share it', async () => {
  const service = createSystemService(databases, { healthCacheMs: 0 });
  const [a, b] = await Promise.all([service.health(), service.health()]);
  assert.equal(a.databases, b.databases, 'one probe answered both');
  const c = await service.health();
  assert.notEqual(c.databases, a.databases, 'a later call probes again');
});
