/**
 * Counts what reaches the databases: every `pool.query()` and every client leased with
 * `pool.connect()` (drizzle goes through one or the other), on the real pools of both logical
 * databases. A watch, not a mock: each call is passed through unchanged.
 */
import type pg from 'pg';
import type { Databases } from '../../src/db/client.ts';

export interface QueryWatch {
  /** Queries and leases since the watch began (or since the last reset). */
  count(): number;
  reset(): void;
  /** Puts the pools' own methods back. */
  stop(): void;
}

export function watchQueries(databases: Databases): QueryWatch {
  let count = 0;
  const pools = [...new Set<pg.Pool>([databases.data.pool, databases.auth.pool])];
  const restore: (() => void)[] = [];
  for (const pool of pools) {
    const query = pool.query;
    const connect = pool.connect;
    pool.query = function (this: pg.Pool, ...args: unknown[]) {
      count++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pool.query;
    pool.connect = function (this: pg.Pool, ...args: unknown[]) {
      count++;
      return (connect as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pool.connect;
    restore.push(() => {
      pool.query = query;
      pool.connect = connect;
    });
  }
  return {
    count: () => count,
    reset: () => {
      count = 0;
    },
    stop: () => {
      for (const r of restore) r();
    },
  };
}
