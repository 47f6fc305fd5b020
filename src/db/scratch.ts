/**
 * Throwaway databases on a PostgreSQL server: the test runner's, the ones tests of the
 * database tools make, and the benchmarks'. The one place that creates and drops databases,
 * so each of those callers only chooses a name prefix. Never used by the server itself.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database made by {@link createScratchDatabase}. */
export interface ScratchDatabase {
  readonly name: string;
  /** The server's URL with this database in its path. */
  readonly url: string;
  /** Drops it, ending any connection still open to it; dropping it twice is harmless. */
  drop(): Promise<void>;
}

/** What a scratch name may be: it is quoted into DDL, so nothing that needs escaping. */
const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function checked(name: string): string {
  if (!NAME.test(name)) throw new TypeError(`scratch database name ${JSON.stringify(name)} must be lower-case letters, digits and _ (at most 63)`);
  return name;
}

/** `prefix_<8 hex digits>`: unique enough for concurrent runs on one server. */
export function scratchName(prefix: string): string {
  return checked(`${prefix}_${randomBytes(4).toString('hex')}`);
}

/** `serverUrl` with `database` in its path (credentials and options kept). */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `fn` with a client connected to `url`, ending it afterwards. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the empty database `name` on the server `serverUrl` names (connecting to its database there). */
export async function createScratchDatabase(serverUrl: string, name: string): Promise<ScratchDatabase> {
  await withClient(serverUrl, (c) => c.query(`create database "${checked(name)}"`));
  return {
    name,
    url: databaseUrl(serverUrl, name),
    drop: () => withClient(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

/**
 * Drops every database and role on the server whose name starts with `prefix` (a run's own
 * and any a test made under it and did not drop). Resolves to the databases dropped.
 */
export async function dropScratchDatabases(serverUrl: string, prefix: string): Promise<string[]> {
  const like = `${checked(prefix).replace(/_/g, '\\_')}%`;
  return withClient(serverUrl, async (c) => {
    const dbs = await c.query<{ datname: string }>('select datname from pg_database where datname like $1', [like]);
    for (const { datname } of dbs.rows) await c.query(`drop database if exists ${c.escapeIdentifier(datname)} with (force)`);
    const roles = await c.query<{ rolname: string }>('select rolname from pg_roles where rolname like $1', [like]);
    for (const { rolname } of roles.rows) await c.query(`drop role if exists ${c.escapeIdentifier(rolname)}`);
    return dbs.rows.map((r) => r.datname);
  });
}
