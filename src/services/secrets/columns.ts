/**
 * SQL over one {@link EncryptedColumn}: quoted names and the id column's type, shared by the
 * step that seals values still in the clear (seal.ts), key rotation (rotate.ts), blind-index
 * rotation (reindex.ts) and `keys list`'s counts. Names come from the code's own list
 * (src/crypto/encrypted-columns.ts), never from a client, and are quoted all the same.
 */
import type pg from 'pg';
import type { EncryptedColumn } from '../../crypto/encrypted-columns.ts';
import type { Database, Databases } from '../../db/client.ts';

/** `"schema"."table"` or `"column"`, from a dotted name. */
export const quoted = (name: string) =>
  name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');

/** The quoted names of an entry, ready to put in SQL. */
export interface ColumnSql {
  readonly table: string;
  readonly id: string;
  readonly value: string;
  readonly keyId: string;
  readonly blindIndex: string | undefined;
  /** The id column's SQL type (e.g. `uuid`, `text`, `bigint`), for casting arrays of ids. */
  readonly idType: string;
  /** `table.column`, how reports and progress name the entry. */
  readonly label: string;
}

const ID_TYPES = new Map<string, string>();

/** The entry's quoted names and its id type (read once per table from the catalogue). */
export async function columnSql(client: pg.Pool | pg.PoolClient, entry: EncryptedColumn): Promise<ColumnSql> {
  const cacheKey = `${entry.database}:${entry.table}.${entry.idColumn}`;
  let idType = ID_TYPES.get(cacheKey);
  if (idType === undefined) {
    const found = await client.query<{ type: string }>(
      `select format_type(a.atttypid, a.atttypmod) as type from pg_attribute a where a.attrelid = $1::regclass and a.attname = $2 and not a.attisdropped`,
      [quoted(entry.table), entry.idColumn],
    );
    const type = found.rows[0]?.type;
    if (!type || !/^[a-z0-9 ()_]+$/.test(type)) throw new TypeError(`no id column ${entry.idColumn} in ${entry.table}`);
    idType = type;
    ID_TYPES.set(cacheKey, idType);
  }
  return {
    table: quoted(entry.table),
    id: quoted(entry.idColumn),
    value: quoted(entry.column),
    keyId: quoted(entry.keyIdColumn),
    blindIndex: entry.blindIndexColumn === undefined ? undefined : quoted(entry.blindIndexColumn),
    idType,
    label: `${entry.table}.${entry.column}`,
  };
}

/** The database an entry lives in. */
export const databaseOf = (databases: Pick<Databases, 'data' | 'auth'>, entry: EncryptedColumn): Database => databases[entry.database];

/** Runs `fn` in one transaction on a client of its own: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(database: Database, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await database.pool.connect();
  try {
    await client.query('begin');
    try {
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    }
  } finally {
    client.release();
  }
}
