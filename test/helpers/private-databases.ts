/**
 * Migrated databases of a test's own, for tests that change what every server shares (the
 * signing keys) or that migrate step by step: scratch databases on the run's PostgreSQL
 * server (test/helpers/scratch.ts), or an in-memory PGlite of their own.
 */
import { openDatabase, type DatabaseName } from '../../src/db/client.ts';
import { embeddedUrl, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createScratch, serverUrl } from './scratch.ts';

export interface PrivateDatabases {
  /** `DATABASE_URL` and `AUTH_DATABASE_URL` for startTestServer. */
  readonly env: { readonly DATABASE_URL: string; readonly AUTH_DATABASE_URL: string };
  close(): Promise<void>;
}

/** Opens them; `migrate: false` leaves them empty (the caller migrates as it needs). */
export async function privateDatabases(options: { migrate?: boolean } = {}): Promise<PrivateDatabases> {
  let env: PrivateDatabases['env'];
  let close: () => Promise<void>;
  if (serverUrl()) {
    const scratch = await createScratch();
    env = { DATABASE_URL: scratch.env.DATABASE_URL!, AUTH_DATABASE_URL: scratch.env.AUTH_DATABASE_URL! };
    close = () => scratch.drop();
  } else {
    const embedded = await startEmbeddedPostgres(undefined);
    const url = embeddedUrl(embedded);
    env = { DATABASE_URL: url, AUTH_DATABASE_URL: url };
    close = () => embedded.close();
  }
  if (options.migrate ?? true) {
    for (const [name, url] of [
      ['data', env.DATABASE_URL],
      ['auth', env.AUTH_DATABASE_URL],
    ] as [DatabaseName, string][]) {
      const database = await openDatabase(name, { connectionString: url }, 1);
      try {
        await migrateDatabase(database);
      } finally {
        await database.pool.end();
      }
    }
  }
  return { env, close };
}
