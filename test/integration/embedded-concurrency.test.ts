/**
 * The embedded database serves many connections at once without mixing them up: each
 * connection's extended-protocol batches and transactions run whole (src/db/pglite-queue.ts).
 * Without that, concurrent parameterized queries bind to one another's statements (SQLSTATE
 * 26000), get one another's rows, or wait forever. Runs on its own in-memory PGlite in both
 * database modes: it is the embedded seam that is under test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';

describe('the embedded database under concurrent connections', () => {
  let embedded: EmbeddedPostgres;
  const pools: pg.Pool[] = [];
  before(async () => {
    embedded = await startEmbeddedPostgres(undefined);
    for (let i = 0; i < 3; i++) pools.push(new pg.Pool({ ...embedded.connection, max: 8 }));
    await pools[0]!.query('create table counter (id int primary key, n int not null)');
    await pools[0]!.query('insert into counter values (1, 0)');
  });
  // Bounded: a connection left waiting for an answer would otherwise hold the file open.
  after(
    async () => {
      await Promise.all(pools.map((p) => p.end()));
      await embedded.close();
    },
    { timeout: 10_000 },
  );

  test('concurrent parameterized queries of different shapes each get their own answer', { timeout: 60_000 }, async () => {
    const jobs: Promise<string | undefined>[] = [];
    for (let i = 0; i < 300; i++) {
      const pool = pools[i % pools.length]!;
      jobs.push(
        (async () => {
          switch (i % 3) {
            case 0: {
              const r = await pool.query<{ x: number }>('select $1::int + 1 as x', [i]);
              return r.rows[0]?.x === i + 1 ? undefined : `int ${i}: ${JSON.stringify(r.rows)}`;
            }
            case 1: {
              const r = await pool.query<{ y: string }>('select $1::text || $2::text as y', ['q', String(i)]);
              return r.rows[0]?.y === `q${i}` ? undefined : `text ${i}: ${JSON.stringify(r.rows)}`;
            }
            default: {
              const r = await pool.query<{ z: string[] }>('select array[$1::text, $2::text, $3::text] as z', ['a', 'b', String(i)]);
              return r.rows[0]?.z?.[2] === String(i) ? undefined : `array ${i}: ${JSON.stringify(r.rows)}`;
            }
          }
        })().catch((err: unknown) => `error ${i}: ${(err as { code?: string }).code ?? String(err)}`),
      );
    }
    assert.deepEqual((await Promise.all(jobs)).filter(Boolean), []);
  });

  test('transactions on several connections, between other connections’ queries, all count once', { timeout: 60_000 }, async () => {
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const pool = pools[i % pools.length]!;
      jobs.push(
        (async () => {
          const client = await pool.connect();
          try {
            await client.query('begin');
            const { rows } = await client.query<{ n: number }>('select n from counter where id = $1 for update', [1]);
            await client.query('update counter set n = $1 where id = $2', [rows[0]!.n + 1, 1]);
            await client.query('commit');
          } finally {
            client.release();
          }
        })(),
        pools[(i + 1) % pools.length]!.query('select $1::int as i', [i]),
      );
    }
    await Promise.all(jobs);
    const { rows } = await pools[0]!.query<{ n: number }>('select n from counter where id = $1', [1]);
    assert.equal(rows[0]?.n, 60);
  });
});
