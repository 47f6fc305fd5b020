/**
 * `GET /.well-known/jwks.json` is served from the key store's cache: a burst of requests
 * costs at most one read of the signing keys, a rotation in this process shows at once,
 * and one made by another process shows within SIGNING_KEY_CACHE_SECONDS (the test moves
 * the server's clock instead of waiting). Reads are counted on the server's own pool. The
 * test rotates keys, so it has databases of its own: other files' servers share theirs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JWK } from 'jose';
import type pg from 'pg';
import { openDatabases, type Databases } from '../../src/db/client.ts';
import { privateDatabases, type PrivateDatabases } from '../helpers/private-databases.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Counts the queries on `pool` that read or write the signing keys. */
function countKeyQueries(pool: pg.Pool): { readonly count: number } {
  let count = 0;
  const query = pool.query.bind(pool) as (config: unknown, values?: unknown) => Promise<unknown>;
  pool.query = ((config: unknown, values?: unknown) => {
    const text = typeof config === 'string' ? config : (config as { text: string }).text;
    if (text.includes('"signing_keys"')) count++;
    return query(config, values);
  }) as never;
  return {
    get count() {
      return count;
    },
  };
}

describe('the JWKS endpoint', () => {
  let own: PrivateDatabases;
  let databases: Databases;
  let s: TestServer;
  let other: TestServer;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  let reads: { readonly count: number };
  const kids = async (server: TestServer) => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { keys: JWK[] }).keys.map((k) => k.kid);
  };

  before(async () => {
    own = await privateDatabases();
    const env = { ...own.env, SIGNING_KEY_CACHE_SECONDS: '30' };
    databases = await openDatabases({ databaseUrl: env.DATABASE_URL, authDatabaseUrl: env.AUTH_DATABASE_URL, embeddedDir: undefined, poolMax: 4 });
    reads = countKeyQueries(databases.auth.pool);
    s = await startTestServer(env, { databases, now });
    // Another API process: its own pools and key store on the same database.
    other = await startTestServer(env);
  });
  after(async () => {
    await s.close();
    await other.close();
    await databases.close();
    await own.close();
  });

  test('a burst of JWKS requests reads the signing keys from the database at most once', async () => {
    await s.server.services.auth.keys.signingKey();
    const before = reads.count;
    await Promise.all(Array.from({ length: 10 }, () => kids(s)));
    for (let i = 0; i < 10; i++) await kids(s);
    assert.ok(reads.count - before <= 1, `${reads.count - before} reads for 20 requests`);

    offsetMs += 31_000; // past the cache's life: the next burst reads once, together
    const stale = reads.count;
    await Promise.all(Array.from({ length: 10 }, () => kids(s)));
    assert.equal(reads.count - stale, 1, 'concurrent requests share one read');
  });

  test("this process's rotation shows at once; another process's within SIGNING_KEY_CACHE_SECONDS", async () => {
    await kids(s); // the cache is fresh
    const rotatedElsewhere = await other.server.services.auth.keys.rotate();
    assert.ok(!(await kids(s)).includes(rotatedElsewhere.kid), 'served from the cache until it is due');
    offsetMs += 31_000;
    assert.ok((await kids(s)).includes(rotatedElsewhere.kid), 'seen once the cache is due');

    const rotatedHere = await s.server.services.auth.keys.rotate();
    const listed = await kids(s);
    assert.ok(listed.includes(rotatedHere.kid), 'a rotation here refreshes the cache at once');
    assert.ok(listed.includes(rotatedElsewhere.kid), 'the retired key stays until its tokens have expired');
  });
});
