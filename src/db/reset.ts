/**
 * Dropping and re-creating Strongroom's own schemas in one logical database (`db:reset`).
 *
 * Only the schemas in {@link OWNED_SCHEMAS} and the database's own bookkeeping table are
 * dropped; anything else in the same database is left as it was. Two guarantees:
 * - rights are checked first, for both databases, so a user who may not drop or create
 *   schemas gets a clear refusal before anything is touched;
 * - the drop runs in one transaction (PostgreSQL's DDL is transactional) and is rolled back
 *   if `DROP … CASCADE` would take anything outside our schemas with it (a foreign view on
 *   one of our tables, a foreign key into one of them), so nothing is ever half-dropped.
 */
import type pg from 'pg';
import type { Database } from './client.ts';
import { MIGRATIONS, OWNED_SCHEMAS } from './migrate.ts';

/** Thrown when a reset cannot or must not go ahead; nothing was changed. */
export class ResetRefusedError extends Error {
  constructor(
    readonly reason: 'permission' | 'foreign-dependency',
    message: string,
  ) {
    super(message);
    this.name = 'ResetRefusedError';
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Checks that the connected user may drop this database's schemas and bookkeeping table and
 * create new ones. Resolves to the problems found, one sentence each (empty = allowed).
 */
export async function resetProblems(database: Database): Promise<string[]> {
  const owned = [...OWNED_SCHEMAS[database.name]];
  const { schema, table } = MIGRATIONS[database.name];
  const problems: string[] = [];
  const who = await database.pool.query<{ user: string; db: string; can_create: boolean }>(
    `select current_user as user, current_database() as db, has_database_privilege(current_database(), 'CREATE') as can_create`,
  );
  const { user, db, can_create } = who.rows[0]!;
  if (!can_create) problems.push(`role ${user} may not create schemas in database ${db} (needs CREATE on the database)`);
  const schemas = await database.pool.query<{ nspname: string; owner: string; owns: boolean }>(
    `select n.nspname, pg_get_userbyid(n.nspowner) as owner, pg_has_role(current_user, n.nspowner, 'USAGE') as owns
       from pg_namespace n where n.nspname = any($1::text[]) order by n.nspname`,
    [owned],
  );
  for (const s of schemas.rows) {
    if (!s.owns) problems.push(`role ${user} may not drop schema ${s.nspname} (owned by ${s.owner})`);
  }
  const bookkeeping = await database.pool.query<{ owner: string; owns: boolean }>(
    `select pg_get_userbyid(c.relowner) as owner, pg_has_role(current_user, c.relowner, 'USAGE') as owns
       from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`,
    [schema, table],
  );
  const record = bookkeeping.rows[0];
  if (record && !record.owns) problems.push(`role ${user} may not drop table ${schema}.${table} (owned by ${record.owner})`);
  return problems;
}

/** Names of objects outside `owned` that a CASCADE could remove: relations, constraints, functions. */
async function foreignObjects(client: pg.PoolClient, owned: readonly string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `select 'relation ' || n.nspname || '.' || c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname <> all($1::text[]) and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
     union all
     select 'constraint ' || n.nspname || '.' || c.relname || '.' || k.conname
       from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname <> all($1::text[]) and n.nspname not in ('pg_catalog', 'information_schema')
     union all
     select 'function ' || n.nspname || '.' || p.proname || '(' || p.oid || ')'
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname <> all($1::text[]) and n.nspname not in ('pg_catalog', 'information_schema')`,
    [owned],
  );
  return new Set(rows.map((r) => r.name));
}

/**
 * Drops this database's schemas (CASCADE) and its migration record, in one transaction.
 * Resolves to the schemas that existed and were dropped. Throws {@link ResetRefusedError}
 * (after rolling back) when the drop would remove anything outside our schemas.
 */
export async function dropOwnedSchemas(database: Database): Promise<string[]> {
  const owned = OWNED_SCHEMAS[database.name];
  const { schema, table } = MIGRATIONS[database.name];
  const client = await database.pool.connect();
  try {
    await client.query('begin');
    try {
      const before = await foreignObjects(client, owned);
      const existing = await client.query<{ nspname: string }>(`select nspname from pg_namespace where nspname = any($1::text[]) order by nspname`, [
        [...owned],
      ]);
      const dropped = existing.rows.map((r) => r.nspname);
      for (const name of dropped) await client.query(`drop schema ${quote(name)} cascade`);
      await client.query(`drop table if exists ${quote(schema)}.${quote(table)}`);
      const after = await foreignObjects(client, owned);
      // The bookkeeping table goes with its sequence, primary key and index; nothing else may.
      const ours = [`relation ${schema}.${table}`, `constraint ${schema}.${table}.`];
      const lost = [...before].filter((name) => !after.has(name) && !ours.some((prefix) => name.startsWith(prefix)));
      if (lost.length > 0) {
        throw new ResetRefusedError(
          'foreign-dependency',
          `dropping ${dropped.join(', ')} in the ${database.name} database would also remove objects that are not Strongroom's: ${lost.join(', ')}. Nothing was dropped; remove those dependencies first.`,
        );
      }
      await client.query('commit');
      return dropped;
    } catch (err) {
      await client.query('rollback');
      throw err;
    }
  } finally {
    client.release();
  }
}
