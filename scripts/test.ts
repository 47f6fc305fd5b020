/**
 * `npm test`: prepares the databases, runs every test file with node's test runner, and
 * cleans up even when tests fail.
 *
 * - DATABASE_URL set: creates fresh databases on that server (strongroom_test_<random>:
 *   one for data and one for auth, so the suite proves the two are kept apart), migrates
 *   them, and drops them at the end.
 * - DATABASE_URL unset: an in-memory PGlite served on a socket, migrated.
 *
 * Test files receive TEST_DATABASE_URL and TEST_AUTH_DATABASE_URL.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';

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

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

interface Prepared {
  dataUrl: string;
  authUrl: string;
  label: string;
  cleanup(): Promise<void>;
}

async function preparePostgres(serverUrl: string): Promise<Prepared> {
  const suffix = randomBytes(4).toString('hex');
  const names = { data: `strongroom_test_${suffix}_data`, auth: `strongroom_test_${suffix}_auth` };
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  for (const name of Object.values(names)) await admin.query(`create database "${name}"`);
  await admin.end();
  const dataUrl = withDatabase(serverUrl, names.data);
  const authUrl = withDatabase(serverUrl, names.auth);
  return {
    dataUrl,
    authUrl,
    label: `PostgreSQL (${names.data}, ${names.auth})`,
    async cleanup() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      for (const name of Object.values(names)) await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

async function preparePglite(): Promise<Prepared & { embedded: EmbeddedPostgres }> {
  const embedded = await startEmbeddedPostgres(undefined);
  const { host, port, user, database } = embedded.connection;
  const url = `postgres://${user}@localhost:${port}/${database}?host=${encodeURIComponent(String(host))}`;
  return { dataUrl: url, authUrl: url, label: 'embedded PGlite (in memory)', embedded, cleanup: () => embedded.close() };
}

async function migrate(prepared: Prepared): Promise<void> {
  const data = await openDatabase('data', { connectionString: prepared.dataUrl }, 2);
  const auth = await openDatabase('auth', { connectionString: prepared.authUrl }, 2);
  try {
    await migrateDatabase(data);
    await migrateDatabase(auth);
  } finally {
    await data.pool.end();
    await auth.pool.end();
  }
}

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  const files = testFiles(path.join(root, 'test'), filter);
  const serverUrl = process.env.DATABASE_URL;
  const prepared = serverUrl ? await preparePostgres(serverUrl) : await preparePglite();
  let exitCode = 1;
  const stop = () => void prepared.cleanup().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await migrate(prepared);
    process.stdout.write(`# databases: ${prepared.label}\n`);
    exitCode = await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--test', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`, ...files],
        {
          stdio: 'inherit',
          env: {
            ...process.env,
            NODE_ENV: 'test',
            TEST_DATABASE_URL: prepared.dataUrl,
            TEST_AUTH_DATABASE_URL: prepared.authUrl,
          },
        },
      );
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await prepared.cleanup();
  }
  return exitCode;
}

process.exit(await main());
