/**
 * Databases for a benchmark: never the ones a deployment uses.
 *
 * - `DATABASE_URL` set: a fresh database `strongroom_bench_<random>` on that server (data and
 *   auth share it, as they do when `AUTH_DATABASE_URL` is unset), migrated, dropped on close.
 * - unset: an in-memory embedded PGlite, migrated, gone on close.
 */
import type { Config } from '../../src/config.ts';
import { openDatabases, type Databases } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createScratchDatabase, scratchName } from '../../src/db/scratch.ts';

export interface BenchDatabases extends Databases {
  /** Where they live, for the benchmark's header (never a password). */
  readonly label: string;
}

/** Opens migrated, throwaway databases as described above; `close()` drops them. */
export async function openBenchDatabases(config: Pick<Config, 'databaseUrl' | 'dbPoolMax'>): Promise<BenchDatabases> {
  let drop: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  let label = 'embedded PGlite (in memory)';
  if (config.databaseUrl) {
    const scratch = await createScratchDatabase(config.databaseUrl, scratchName('strongroom_bench'));
    databaseUrl = scratch.url;
    label = `PostgreSQL ${new URL(databaseUrl).host}/${scratch.name}`;
    drop = scratch.drop;
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
