/**
 * Test isolation by transaction rollback (Django's `TestCase`), on PostgreSQL and PGlite,
 * across both logical databases.
 *
 * Each physical database gets one connection. Before each test it opens a transaction;
 * after the test it rolls it back, so nothing a test writes survives it and tests may run
 * in any order — also against a reused database (`TEST_REUSE_DB=1`). The `Database`
 * objects handed to the code under test look like ordinary ones (a `pg.Pool` and drizzle
 * over it), but every query runs on that connection, inside the test's transaction:
 * - a statement outside an application transaction runs in its own savepoint, so a failing
 *   one (a unique violation the service turns into BAD_USER_INPUT) does not abort the test;
 * - `BEGIN` / `COMMIT` / `ROLLBACK` from the application (drizzle's `db.transaction`, a
 *   leased client) become `SAVEPOINT` / `RELEASE` / `ROLLBACK TO`, so the application's own
 *   transactions keep their meaning;
 * - leased clients (`pool.connect()`) are handed out one at a time, since two open
 *   transactions cannot share one connection; a second lease while one is held waits, and
 *   fails after {@link LEASE_WAIT_MS} instead of deadlocking silently.
 *
 * When data and auth live in one database (AUTH_DATABASE_URL unset, or PGlite) they share
 * the connection, as they must on PGlite: it serves one transaction at a time, so a second
 * connection would wait for the first test's transaction to end.
 *
 * Not for: tests of concurrency between sessions (locks, SKIP LOCKED, isolation levels) or
 * of `SET TRANSACTION` settings: those open their own pools and use unique data.
 */
import { after, afterEach, before, beforeEach } from 'node:test';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { parseConfig, type Config } from '../../src/config.ts';
import { describeConnection, type Database, type DatabaseName, type Databases } from '../../src/db/client.ts';
import { openKeyring, type Keyring } from '../../src/crypto/keyring.ts';
import { createLogger } from '../../src/logger.ts';
import { createStoreServices, type StoreServices } from '../../src/services/index.ts';
import { setBuilderServices } from './builders.ts';
import { testEnv } from './server.ts';

/** How long a second `pool.connect()` waits for the first lease to be released (ms). */
export const LEASE_WAIT_MS = 5000;

type QueryArgs = [config: string | pg.QueryConfig, values?: unknown[]];

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const COMMIT = /^\s*(commit|end)\b/i;
const ROLLBACK = /^\s*rollback\s*;?\s*$/i;
const textOf = (config: string | pg.QueryConfig) => (typeof config === 'string' ? config : config.text);
const emptyResult = (command: string) => ({ command, rowCount: null, oid: 0, rows: [], fields: [] }) as unknown as pg.QueryResult;

/** The one connection to a physical database and the test transaction on it. */
class TestConnection {
  private readonly client: pg.Client;
  private inTest = false;
  private names = 0;
  /** Serializes savepoint-wrapped statements, so two callers' savepoints never interleave. */
  private statements: Promise<unknown> = Promise.resolve();
  /** Held while a client is leased. */
  private leased: Promise<void> = Promise.resolve();

  constructor(readonly url: string) {
    this.client = new pg.Client({ connectionString: url, application_name: 'strongroom-test' });
  }

  connect = () => this.client.connect();
  end = () => this.client.end();

  async begin(): Promise<void> {
    await this.client.query('begin');
    this.inTest = true;
    this.names = 0;
  }

  async rollback(): Promise<void> {
    if (!this.inTest) return;
    this.inTest = false;
    await this.client.query('rollback');
  }

  name(prefix: string): string {
    return `${prefix}${++this.names}`;
  }

  /** Runs `fn` after every statement queued before it, and before any queued after. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.statements.then(fn, fn);
    this.statements = run.catch(() => {});
    return run;
  }

  /** One statement on its own: inside a test, in a savepoint that a failure rolls back to. */
  standalone(...[config, values]: QueryArgs): Promise<pg.QueryResult> {
    if (!this.inTest) return this.client.query(config as string, values);
    return this.serial(async () => {
      const savepoint = this.name('q');
      await this.client.query(`savepoint ${savepoint}`);
      try {
        const result = await this.client.query(config as string, values);
        await this.client.query(`release savepoint ${savepoint}`);
        return result;
      } catch (err) {
        await this.client.query(`rollback to savepoint ${savepoint}`);
        await this.client.query(`release savepoint ${savepoint}`);
        throw err;
      }
    });
  }

  /** A statement inside an application transaction (already under a savepoint). */
  inTransaction(...[config, values]: QueryArgs): Promise<pg.QueryResult> {
    return this.serial(() => this.client.query(config as string, values));
  }

  /** Waits for the current lease to end; resolves to the function that ends ours. */
  async lease(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = this.leased;
    this.leased = previous.then(() => mine);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      previous,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`pool.connect() waited ${LEASE_WAIT_MS} ms: isolated test databases lease one client at a time, and one is still held`)),
          LEASE_WAIT_MS,
        );
      }),
    ])
      .catch((err: unknown) => {
        release(); // we never held it: let the lease after ours follow the current one
        throw err;
      })
      .finally(() => clearTimeout(timer));
    return release;
  }

  get testing(): boolean {
    return this.inTest;
  }
}

/** What `pool.connect()` returns: the shared connection, with transactions turned into savepoints. */
function leasedClient(connection: TestConnection, release: () => void): pg.PoolClient {
  const open: string[] = [];
  let released = false;
  const query = async (...[config, values]: QueryArgs): Promise<pg.QueryResult> => {
    if (!connection.testing) return connection.standalone(config, values);
    const text = textOf(config);
    if (BEGIN.test(text)) {
      const savepoint = connection.name('tx');
      await connection.inTransaction(`savepoint ${savepoint}`);
      open.push(savepoint);
      return emptyResult('BEGIN');
    }
    if (COMMIT.test(text) && open.length > 0) {
      await connection.inTransaction(`release savepoint ${open.pop()}`);
      return emptyResult('COMMIT');
    }
    if (ROLLBACK.test(text) && open.length > 0) {
      const savepoint = open.pop();
      await connection.inTransaction(`rollback to savepoint ${savepoint}`);
      await connection.inTransaction(`release savepoint ${savepoint}`);
      return emptyResult('ROLLBACK');
    }
    return open.length > 0 ? connection.inTransaction(config, values) : connection.standalone(config, values);
  };
  return {
    query,
    release() {
      if (released) return;
      released = true;
      // A transaction left open by the code under test is undone, as closing a connection would.
      const outermost = open[0];
      open.length = 0;
      if (outermost && connection.testing) {
        void connection.inTransaction(`rollback to savepoint ${outermost}`).finally(release);
      } else {
        release();
      }
    },
    on() {
      return this;
    },
  } as unknown as pg.PoolClient;
}

/** A `pg.Pool` in name (drizzle starts transactions by `connect()` on a Pool) over one test connection. */
class TestPool extends pg.Pool {
  constructor(private readonly connection: TestConnection) {
    super({ max: 1 });
  }

  // biome-ignore lint/suspicious/noExplicitAny: overrides pg.Pool's overloaded signature
  override query(config: any, values?: any, ...rest: unknown[]): any {
    if (typeof values === 'function' || typeof rest[0] === 'function') throw new TypeError('TestPool: callbacks are not supported');
    return this.connection.standalone(config, values);
  }

  // biome-ignore lint/suspicious/noExplicitAny: overrides pg.Pool's overloaded signature
  override connect(...callback: unknown[]): any {
    if (callback.length > 0) throw new TypeError('TestPool: callbacks are not supported');
    return this.connection.lease().then((release) => leasedClient(this.connection, release));
  }

  override async end(): Promise<void> {}
}

export interface TestDatabases extends Databases {
  /** Opens the test's transaction on each physical database. */
  begin(): Promise<void>;
  /** Rolls back everything written since `begin`. */
  rollback(): Promise<void>;
}

/** Opens the test databases (TEST_DATABASE_URL, TEST_AUTH_DATABASE_URL) behind per-test transactions. */
export async function openTestDatabases(): Promise<TestDatabases> {
  const env = testEnv();
  const urls: Record<DatabaseName, string> = { data: env.DATABASE_URL!, auth: env.AUTH_DATABASE_URL! };
  const connections = new Map<string, TestConnection>();
  for (const url of Object.values(urls)) if (!connections.has(url)) connections.set(url, new TestConnection(url));
  await Promise.all([...connections.values()].map((c) => c.connect()));
  const database = (name: DatabaseName): Database => {
    const connectionString = urls[name];
    const pool = new TestPool(connections.get(connectionString)!);
    return { name, label: describeConnection({ connectionString }), connection: Object.freeze({ connectionString }), pool, db: drizzle(pool) };
  };
  const all = [...connections.values()];
  return {
    data: database('data'),
    auth: database('auth'),
    embedded: undefined,
    begin: async () => void (await Promise.all(all.map((c) => c.begin()))),
    rollback: async () => void (await Promise.all(all.map((c) => c.rollback()))),
    close: async () => {
      await Promise.all(all.map((c) => c.rollback().catch(() => {})));
      await Promise.all(all.map((c) => c.end()));
    },
  };
}

export interface IsolatedTestContext {
  readonly databases: TestDatabases;
  readonly services: StoreServices;
  readonly config: Config;
  /** The keyring the services seal and open secrets with. */
  readonly keyring: Keyring;
}

/**
 * For a test file or `describe`: opens the test databases before its tests, wraps each
 * test in a transaction that is rolled back after it, closes them at the end, and points
 * the seed builders (`aLicence()…create()`) at its services.
 */
export function useTestDatabases(): IsolatedTestContext {
  let context: IsolatedTestContext | undefined;
  const get = () => {
    if (!context) throw new TypeError('useTestDatabases(): the databases open in a before() hook; use them inside tests');
    return context;
  };
  before(async () => {
    const config = parseConfig(testEnv({ LOG_LEVEL: 'silent' }));
    const databases = await openTestDatabases();
    // Opened before any test's transaction: the keys it creates on a fresh keyring are committed and shared by every test file.
    const keyring = await openKeyring({ database: databases.auth, config, logger: createLogger('silent') });
    context = { databases, config, keyring, services: createStoreServices({ config, databases, keyring, logger: createLogger('silent') }) };
  });
  beforeEach(async () => {
    await get().databases.begin();
    setBuilderServices(get().services);
  });
  afterEach(async () => {
    setBuilderServices(undefined);
    await get().databases.rollback();
  });
  after(async () => {
    await context?.services.close();
    context?.keyring.close();
    await context?.databases.close();
  });
  return {
    get databases() {
      return get().databases;
    },
    get services() {
      return get().services;
    },
    get config() {
      return get().config;
    },
    get keyring() {
      return get().keyring;
    },
  };
}
