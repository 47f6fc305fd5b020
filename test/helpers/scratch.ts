/**
 * Scratch databases for tests of the database tools, apart from the suite's own: on the
 * PostgreSQL server of the run (TEST_SERVER_URL, names under TEST_DB_PREFIX so the runner
 * drops any left behind), or else an embedded PGlite in a temporary DATA_DIR.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { embeddedUrl, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createScratchDatabase, scratchName as uniqueName, withClient } from '../../src/db/scratch.ts';
import { masterKeyEnv } from './server.ts';
import { ROOT } from './process.ts';

export interface Scratch {
  /** `postgres` (two databases on the server) or `pglite` (one embedded folder). */
  readonly kind: 'postgres' | 'pglite';
  /** Environment that points the CLIs and the server at this scratch target. */
  readonly env: Record<string, string>;
  /** Runs `fn` with a client on the data (or auth) database; on PGlite, opens the folder meanwhile. */
  withClient<T>(fn: (client: pg.Client) => Promise<T>, which?: 'data' | 'auth'): Promise<T>;
  drop(): Promise<void>;
}

export const serverUrl = () => process.env.TEST_SERVER_URL;

/** Admin statements on the run's server (create/drop database, roles). */
export const admin = <T>(fn: (client: pg.Client) => Promise<T>) => withClient(serverUrl()!, fn);

/** A scratch name under the run's prefix (for databases and roles the runner cleans up). */
export const scratchName = (what: string) => uniqueName(`${process.env.TEST_DB_PREFIX ?? 'strongroom_test_x'}_${what}`);

export async function createScratch(): Promise<Scratch> {
  const server = serverUrl();
  if (server) {
    const data = await createScratchDatabase(server, scratchName('data'));
    const auth = await createScratchDatabase(server, scratchName('auth'));
    const urls = { data: data.url, auth: auth.url };
    return {
      kind: 'postgres',
      env: { DATABASE_URL: urls.data, AUTH_DATABASE_URL: urls.auth },
      withClient: (fn, which = 'data') => withClient(urls[which], fn),
      drop: async () => {
        await data.drop();
        await auth.drop();
      },
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-scratch-'));
  return {
    kind: 'pglite',
    env: { DATA_DIR: dir },
    async withClient(fn) {
      const embedded = await startEmbeddedPostgres(path.join(dir, 'db'));
      try {
        return await withClient(embeddedUrl(embedded), fn);
      } finally {
        await embedded.close();
      }
    },
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script under scripts/ with exactly `env` (plus PATH and HOME), as `npm run` would. */
export function runScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('scripts', script), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent', ...masterKeyEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} took over ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
