/**
 * Databases for a benchmark: never the ones a deployment uses.
 *
 * - `DATABASE_URL` set: a fresh database `strongroom_bench_<random>` on that server (data and
 *   auth share it, as they do when `AUTH_DATABASE_URL` is unset), migrated, dropped on close.
 * - unset: an in-memory embedded PGlite, migrated, gone on close.
 *
 * Their keyring is wrapped by a random master key that lives only in this process, as the
 * databases do.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../src/config.ts';
import { type KeyringConfig, openKeyring, type Keyring } from '../../src/crypto/keyring.ts';
import { openDatabases, type Databases } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createScratchDatabase, scratchName } from '../../src/db/scratch.ts';

export interface BenchDatabases extends Databases {
  /** Where they live, for the benchmark's header (never a password). */
  readonly label: string;
  /** The keyring of these databases, under a master key made for this run alone; closed with them. */
  readonly keyring: Keyring;
}

/** Opens migrated, throwaway databases as described above; `close()` drops them. */
export async function openBenchDatabases(config: Pick<Config, 'databaseUrl' | 'dbPoolMax'> & KeyringConfig): Promise<BenchDatabases> {
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
  let keyring: Keyring;
  try {
    databases = await openDatabases({ databaseUrl, authDatabaseUrl: undefined, embeddedDir: undefined, poolMax: config.dbPoolMax });
  } catch (err) {
    await drop?.();
    throw err;
  }
  try {
    await migrateDatabase(databases.data);
    await migrateDatabase(databases.auth);
    keyring = await openKeyring({
      database: databases.auth,
      config: { ...config, masterKey: randomBytes(32).toString('base64'), masterKeyFile: undefined, masterKeyRsaPrivateKeyFile: undefined },
      logger: { info() {}, warn() {}, error() {} },
    });
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
    keyring,
    close() {
      keyring.close();
      closing ??= databases.close().finally(() => drop?.());
      return closing;
    },
  };
}
