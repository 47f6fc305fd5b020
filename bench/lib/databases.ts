/**
 * Databases for a benchmark: never the ones a deployment uses.
 *
 * - `DATABASE_URL` set: a fresh database `strongroom_bench_<random>` on that server (data and
 *   auth share it, as they do when `AUTH_DATABASE_URL` is unset), migrated, dropped on close.
 * - unset: an in-memory embedded PGlite, migrated, gone on close.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Config } from '../../src/config.ts';
import { openDatabases, type Databases } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';

export interface BenchDatabases extends Databases {
  /** Where they live, for the benchmark's header (never a password). */
  readonly label: string;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Opens migrated, throwaway databases as described above; `close()` drops them. */
export async function openBenchDatabases(config: Pick<Config, 'databaseUrl' | 'dbPoolMax'>): Promise<BenchDatabases> {
  let drop: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  let label = 'embedded PGlite (in memory)';
  if (config.databaseUrl) {
    const name = `strongroom_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: config.databaseUrl });
    await admin.connect();
    try {
      await admin.query(`create database "${name}"`);
    } finally {
      await admin.end();
    }
    databaseUrl = withDatabase(config.databaseUrl, name);
    label = `PostgreSQL ${new URL(databaseUrl).host}/${name}`;
    drop = async () => {
      const c = new pg.Client({ connectionString: config.databaseUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    };
  }
  let databases: Databases;
  try {
    databases = await openDatabases({ databaseUrl, authDatabaseUrl: undefined, embeddedDir: undefined, poolMax: config.dbPoolMax });
  } catch (err) {
    await drop?.();
    throw err;
  }
  try {
    await migrateDatabase(databases.data);
    await migrateDatabase(databases.auth);
  } catch (err) {
    await databases.close();
    await drop?.();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    data: databases.data,
    auth: databases.auth,
    embedded: databases.embedded,
    label,
    close() {
      closing ??= databases.close().finally(() => drop?.());
      return closing;
    },
  };
}
