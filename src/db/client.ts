/**
 * The database seam. Two logical databases: `data` (licensing, reporting) and `auth`.
 * Both are reached through `pg` + drizzle; the embedded default is PGlite on a socket.
 */
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';

export type DatabaseName = 'data' | 'auth';

export interface Database {
  readonly name: DatabaseName;
  /** host:port/database, never the password; for logs and errors. */
  readonly label: string;
  /** Plain connection settings (what a worker thread needs to open its own client). */
  readonly connection: Readonly<pg.PoolConfig>;
  readonly pool: pg.Pool;
  readonly db: NodePgDatabase;
}

export interface Databases {
  readonly data: Database;
  readonly auth: Database;
  /** Set when the embedded PGlite serves both. */
  readonly embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

export interface DatabaseSettings {
  readonly databaseUrl: string | undefined;
  readonly authDatabaseUrl: string | undefined;
  /** Folder of the embedded database; undefined = in memory (tests). */
  readonly embeddedDir: string | undefined;
  readonly poolMax: number;
}

/** Thrown when a configured database does not answer; the message names which one and where. */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly database: DatabaseName,
    readonly label: string,
    reason: string,
  ) {
    super(`Cannot connect to the ${database} database at ${label}: ${reason}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** host:port/database of a connection, without credentials. */
export function describeConnection(connection: pg.PoolConfig): string {
  if (connection.connectionString) {
    const url = new URL(connection.connectionString);
    const socket = url.searchParams.get('host');
    return `${socket ?? url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  }
  return `${connection.host ?? 'localhost'}:${connection.port ?? 5432}/${connection.database ?? ''}`;
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  // Node's connect errors carry the useful part in `code`; PostgreSQL's in `message` (no secrets there).
  if (e.code && /^E[A-Z]+$/.test(e.code)) return e.code;
  return e.message ?? String(err);
}

/** Opens one pool and proves it answers, so a bad URL fails at start with a clear message. */
export async function openDatabase(name: DatabaseName, connection: pg.PoolConfig, poolMax: number): Promise<Database> {
  const label = describeConnection(connection);
  const pool = new pg.Pool({ ...connection, max: poolMax, connectionTimeoutMillis: 10_000, application_name: `strongroom-${name}` });
  // An idle client losing its server must not crash the process; queries will report it.
  pool.on('error', () => {});
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new DatabaseUnavailableError(name, label, reasonOf(err));
  }
  return { name, label, connection: Object.freeze({ ...connection }), pool, db: drizzle(pool) };
}

/** Opens both logical databases as configured (see README "Databases"). */
export async function openDatabases(settings: DatabaseSettings): Promise<Databases> {
  let embedded: EmbeddedPostgres | undefined;
  let dataConn: pg.PoolConfig;
  if (settings.databaseUrl) {
    dataConn = { connectionString: settings.databaseUrl };
  } else {
    embedded = await startEmbeddedPostgres(settings.embeddedDir);
    dataConn = { ...embedded.connection };
  }
  const authConn: pg.PoolConfig = settings.authDatabaseUrl ? { connectionString: settings.authDatabaseUrl } : dataConn;
  const opened: Database[] = [];
  try {
    opened.push(await openDatabase('data', dataConn, settings.poolMax));
    opened.push(await openDatabase('auth', authConn, settings.poolMax));
  } catch (err) {
    await Promise.all(opened.map((d) => d.pool.end()));
    await embedded?.close();
    throw err;
  }
  const [data, auth] = opened as [Database, Database];
  let closing: Promise<void> | undefined;
  return {
    data,
    auth,
    embedded,
    close() {
      closing ??= (async () => {
        await Promise.allSettled([data.pool.end(), auth.pool.end()]);
        await embedded?.close();
      })();
      return closing;
    },
  };
}
