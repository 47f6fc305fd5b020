/**
 * A real Strongroom server for tests: the databases prepared by scripts/test.ts, the real
 * schema, a real HTTP port on 127.0.0.1. `gql()` posts over HTTP; `execute()` goes
 * through Apollo's executeOperation with a real context.
 */
import { parseConfig, type Config } from '../../src/config.ts';
import { openKeyring, type Keyring } from '../../src/crypto/keyring.ts';
import { openDatabases, type Databases } from '../../src/db/client.ts';
import { rendererOptions } from '../../src/reports/index.ts';
import { createRenderer, type Renderer } from '../../src/reports/renderer.ts';
import { createServer, type StrongroomServer } from '../../src/server.ts';
import { openWorkerPool } from '../../src/workers/index.ts';
import type { WorkerPool } from '../../src/workers/pool.ts';
import type { TASKS } from '../../src/workers/tasks.ts';
import { captureLogs } from './logs.ts';

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown>; path?: unknown[] }[] };
}

export interface TestServer {
  readonly url: string;
  readonly server: StrongroomServer;
  readonly databases: Databases;
  /** The server's worker pool (watch it with test/helpers/deferred.ts). */
  readonly pool: WorkerPool<typeof TASKS>;
  readonly config: Config;
  /** The keyring the server seals and opens secrets with. */
  readonly keyring: Keyring;
  /** The PDF renderer, when REPORT_RENDERING is on (tests turn it on; testEnv turns it off). */
  readonly renderer: Renderer | undefined;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  close(): Promise<void>;
}

/**
 * The master key of the test databases' keyring: the one scripts/test.ts made for this run
 * (TEST_MASTER_KEY), or in reuse mode the configured one (its variables, and DATA_DIR for a
 * development key file).
 */
export function masterKeyEnv(): Record<string, string> {
  if (process.env.TEST_MASTER_KEY) return { MASTER_KEY: process.env.TEST_MASTER_KEY };
  const names = ['MASTER_KEY', 'MASTER_KEY_FILE', 'MASTER_KEY_RSA_PRIVATE_KEY_FILE', 'DATA_DIR'];
  return Object.fromEntries(names.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));
}

/** Environment for parseConfig pointing at the test databases; overrides win. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const dataUrl = process.env.TEST_DATABASE_URL;
  if (!dataUrl) throw new Error('TEST_DATABASE_URL is not set: run the suite with `npm test`.');
  return {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATABASE_URL: dataUrl,
    AUTH_DATABASE_URL: process.env.TEST_AUTH_DATABASE_URL ?? dataUrl,
    MIGRATE_ON_START: 'false',
    // A render loop claims any queued report in the database; tests about reports turn it on.
    REPORT_RENDERING: 'off',
    ...masterKeyEnv(),
    ...overrides,
  };
}

export interface TestServerOptions {
  /** Databases to serve from (e.g. `useTestDatabases().databases`, for per-test rollback); the caller closes them. Default: fresh pools. */
  readonly databases?: Databases;
  /** The clock (a frozen one for expiry tests); default the system clock. */
  readonly now?: () => Date;
  /** The keyring to serve with; the caller closes it. Default: one opened on the test databases. */
  readonly keyring?: Keyring;
}

export async function startTestServer(overrides: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const config = parseConfig(testEnv(overrides));
  const { lines: logs, logger } = captureLogs(config.logLevel);
  const databases =
    options.databases ??
    (await openDatabases({
      databaseUrl: config.databaseUrl,
      authDatabaseUrl: config.authDatabaseUrl,
      embeddedDir: undefined,
      poolMax: config.dbPoolMax,
    }));
  const keyring = options.keyring ?? (await openKeyring({ database: databases.auth, config, logger }));
  const pool = openWorkerPool(config, logger);
  const renderer: Renderer | undefined = config.reportRendering ? createRenderer(rendererOptions(config, logger)) : undefined;
  const server = await createServer({ config, logger, databases, keyring, pool, now: options.now, renderer });
  const url = await server.listen();
  server.services.reports.start();
  return {
    url,
    server,
    databases,
    pool,
    config,
    keyring,
    logs,
    async gql(query, variables, headers = {}) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse['body'] } as never;
    },
    renderer,
    async close() {
      await server.close();
      await renderer?.close();
      await pool.close();
      if (!options.keyring) keyring.close();
      if (!options.databases) await databases.close();
    },
  };
}
