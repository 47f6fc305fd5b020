/**
 * `npm test`: prepares the databases, runs every test file with node's test runner, and
 * cleans up even when tests fail.
 *
 * Default mode (Django's test runner):
 * - DATABASE_URL set: creates fresh databases on that server (strongroom_test_<random>_data
 *   and _auth, so the suite proves the two are kept apart), migrates them, and drops them
 *   at the end, with any scratch database or role a test made under the same prefix.
 * - DATABASE_URL unset: an in-memory PGlite served on a socket, migrated.
 *
 * Reuse mode, `TEST_REUSE_DB=1` (Django's `--keepdb` with a no-migration runner): the
 * configured databases (DATABASE_URL / AUTH_DATABASE_URL, or the embedded one under
 * DATA_DIR) are used as they are — nothing is created, migrated or dropped. First their
 * applied migrations are compared with the repo's; any difference stops the run (exit 1)
 * with each missing or unknown migration named.
 *
 * Test files receive TEST_DATABASE_URL and TEST_AUTH_DATABASE_URL; in default PostgreSQL
 * mode also TEST_SERVER_URL and TEST_DB_PREFIX, for tests that need scratch databases.
 * Tests isolate themselves with per-test transactions (test/helpers/isolation.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Database } from '../src/db/client.ts';
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { describeMismatch, migrateDatabase, migrationStatus } from '../src/db/migrate.ts';
import { createScratchDatabase, dropScratchDatabases, scratchName } from '../src/db/scratch.ts';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');

function testFiles(dir: string, filter: string[]): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...testFiles(full, filter));
    else if (entry.endsWith('.test.ts') && (filter.length === 0 || filter.some((f) => full.includes(f)))) out.push(full);
  }
  return out.sort();
}

interface Prepared {
  dataUrl: string;
  authUrl: string;
  label: string;
  /** Extra environment for the test files. */
  env: Record<string, string>;
  /** Migrate before the run (default mode) or compare migrations and refuse (reuse mode). */
  check(): Promise<string[]>;
  cleanup(): Promise<void>;
}

async function withBoth<T>(dataUrl: string, authUrl: string, fn: (dbs: Database[]) => Promise<T>): Promise<T> {
  const data = await openDatabase('data', { connectionString: dataUrl }, 2);
  const auth = await openDatabase('auth', { connectionString: authUrl }, 2).catch(async (err: unknown) => {
    await data.pool.end();
    throw err;
  });
  try {
    return await fn([data, auth]);
  } finally {
    await data.pool.end();
    await auth.pool.end();
  }
}

const migrateBoth = (dataUrl: string, authUrl: string) =>
  withBoth(dataUrl, authUrl, async (dbs) => {
    for (const d of dbs) await migrateDatabase(d);
    return [];
  });

async function preparePostgres(serverUrl: string): Promise<Prepared> {
  const prefix = scratchName('strongroom_test');
  const data = await createScratchDatabase(serverUrl, `${prefix}_data`);
  const auth = await createScratchDatabase(serverUrl, `${prefix}_auth`).catch(async (err: unknown) => {
    await data.drop();
    throw err;
  });
  return {
    dataUrl: data.url,
    authUrl: auth.url,
    label: `PostgreSQL (${data.name}, ${auth.name})`,
    env: { TEST_SERVER_URL: serverUrl, TEST_DB_PREFIX: prefix },
    check: () => migrateBoth(data.url, auth.url),
    // Ours and every scratch database or role a test made under the same prefix.
    cleanup: () => dropScratchDatabases(serverUrl, prefix).then(() => {}),
  };
}

async function preparePglite(): Promise<Prepared> {
  const embedded = await startEmbeddedPostgres(undefined);
  const url = embeddedUrl(embedded);
  return {
    dataUrl: url,
    authUrl: url,
    label: 'embedded PGlite (in memory)',
    env: {},
    check: () => migrateBoth(url, url),
    cleanup: () => embedded.close(),
  };
}

/** Reuse mode: the configured databases as they are; `check` compares migrations and changes nothing. */
class ReuseRefused extends Error {}

async function prepareReuse(): Promise<Prepared> {
  const config = loadConfig();
  let embedded: EmbeddedPostgres | undefined;
  let dataUrl = config.databaseUrl;
  if (!dataUrl) {
    const dir = path.join(config.dataDir, 'db');
    // Opening a missing folder would create a database: refuse instead.
    if (!existsSync(path.join(dir, 'pglite', 'PG_VERSION'))) {
      throw new ReuseRefused(
        `TEST_REUSE_DB=1: there is no embedded database in ${dir} to reuse. Run npm run db:migrate (or npm run db:reset) first, or set DATABASE_URL.`,
      );
    }
    embedded = await startEmbeddedPostgres(dir);
    dataUrl = embeddedUrl(embedded);
  }
  const authUrl = config.authDatabaseUrl ?? dataUrl;
  const url = dataUrl;
  return {
    dataUrl,
    authUrl,
    label: `reused as they are: ${embedded ? `embedded PGlite in ${embedded.dataDir}` : 'DATABASE_URL'}${config.authDatabaseUrl ? ' and AUTH_DATABASE_URL' : ''}`,
    env: { TEST_REUSE_DB: '1' },
    check: () =>
      withBoth(url, authUrl, async (dbs) => {
        const problems: string[] = [];
        for (const d of dbs) problems.push(...describeMismatch(await migrationStatus(d), d.label));
        return problems;
      }),
    cleanup: async () => embedded?.close(),
  };
}

const reuse = ['1', 'true', 'yes'].includes((process.env.TEST_REUSE_DB ?? '').toLowerCase());

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  const files = testFiles(path.join(root, 'test'), filter);
  const serverUrl = process.env.DATABASE_URL;
  let prepared: Prepared;
  try {
    prepared = reuse ? await prepareReuse() : serverUrl ? await preparePostgres(serverUrl) : await preparePglite();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  let exitCode = 1;
  const stop = () => void prepared.cleanup().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const problems = await prepared.check();
    if (problems.length > 0) {
      process.stderr.write(
        `TEST_REUSE_DB=1: the databases do not match this code's migrations, so no test was run:\n${problems.map((p) => `  - ${p}`).join('\n')}\nRun npm run db:migrate, then run the tests again.\n`,
      );
      return 1;
    }
    process.stdout.write(`# databases: ${prepared.label}\n`);
    exitCode = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`, ...files], {
        stdio: 'inherit',
        env: {
          ...process.env,
          NODE_ENV: 'test',
          TEST_DATABASE_URL: prepared.dataUrl,
          TEST_AUTH_DATABASE_URL: prepared.authUrl,
          // The fresh databases' keyring is wrapped by a master key made for this run (reuse mode: the configured one).
          ...(reuse ? {} : { TEST_MASTER_KEY: randomBytes(32).toString('base64') }),
          ...prepared.env,
        },
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    exitCode = 1;
  } finally {
    await prepared.cleanup();
  }
  return exitCode;
}

process.exit(await main());
