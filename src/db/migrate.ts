/**
 * Migrations per logical database: `drizzle/data` and `drizzle/auth`, each with its own
 * bookkeeping table in the `strongroom` schema, so both can share one database.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Database, DatabaseName } from './client.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where each database's migrations live and where they are recorded. */
export const MIGRATIONS: Readonly<Record<DatabaseName, { folder: string; schema: string; table: string }>> = {
  data: { folder: path.join(ROOT, 'drizzle/data'), schema: 'strongroom', table: 'migrations_data' },
  auth: { folder: path.join(ROOT, 'drizzle/auth'), schema: 'strongroom', table: 'migrations_auth' },
};

/** Schemas owned by each database (the only ones `db:reset` ever drops). */
export const OWNED_SCHEMAS: Readonly<Record<DatabaseName, readonly string[]>> = {
  data: ['licensing', 'reporting'],
  auth: ['auth'],
};

export interface MigrationFile {
  readonly tag: string;
  /** drizzle's `when`, recorded as created_at in the bookkeeping table. */
  readonly when: number;
}

export interface MigrationStatus {
  readonly database: DatabaseName;
  readonly applied: readonly MigrationFile[];
  /** In the repo, not applied. */
  readonly pending: readonly MigrationFile[];
  /** Applied, not in the repo (the database is ahead of this code, or another branch's). */
  readonly unknown: readonly UnknownMigration[];
}

/** A migration recorded in a database that this code does not know: drizzle keeps only its time and hash. */
export interface UnknownMigration {
  readonly when: number;
  readonly hash: string;
}

/** The migrations in the repo for one database, oldest first. */
export async function repoMigrations(name: DatabaseName): Promise<MigrationFile[]> {
  const { readFile } = await import('node:fs/promises');
  const journal = JSON.parse(await readFile(path.join(MIGRATIONS[name].folder, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  return journal.entries.map((e) => ({ tag: e.tag, when: e.when }));
}

/** Compares the repo's migrations with those recorded in the database; runs no DDL. */
export async function migrationStatus(database: Database): Promise<MigrationStatus> {
  const { schema, table } = MIGRATIONS[database.name];
  const files = await repoMigrations(database.name);
  const exists = await database.pool.query<{ found: boolean }>(`select to_regclass($1) is not null as found`, [`"${schema}"."${table}"`]);
  const recorded = exists.rows[0]?.found
    ? (await database.pool.query<{ created_at: string; hash: string }>(`select created_at, hash from "${schema}"."${table}" order by created_at`)).rows.map(
        (r) => ({ when: Number(r.created_at), hash: r.hash }),
      )
    : [];
  const recordedSet = new Set(recorded.map((r) => r.when));
  const known = new Set(files.map((f) => f.when));
  return {
    database: database.name,
    applied: files.filter((f) => recordedSet.has(f.when)),
    pending: files.filter((f) => !recordedSet.has(f.when)),
    unknown: recorded.filter((r) => !known.has(r.when)),
  };
}

/**
 * Describes how a database differs from the repo's migrations, one problem per line, naming
 * the database and each missing or unknown migration; empty when they match.
 */
export function describeMismatch(status: MigrationStatus, label: string): string[] {
  const lines: string[] = [];
  for (const m of status.pending) lines.push(`the ${status.database} database (${label}) is missing migration ${m.tag}`);
  for (const m of status.unknown) {
    lines.push(
      `the ${status.database} database (${label}) has a migration this code does not know, recorded as created ${new Date(m.when).toISOString()} (hash ${m.hash.slice(0, 12)})`,
    );
  }
  return lines;
}

/**
 * Applies pending migrations to one database and returns the tags it applied.
 * An advisory lock makes concurrent starts (several API processes) take turns.
 */
export async function migrateDatabase(database: Database): Promise<string[]> {
  const before = await migrationStatus(database);
  if (before.pending.length === 0) return [];
  const { folder, schema, table } = MIGRATIONS[database.name];
  const client = await database.pool.connect();
  try {
    await client.query(`select pg_advisory_lock(hashtext('strongroom:migrate'))`);
    try {
      await migrate(drizzle(client), { migrationsFolder: folder, migrationsSchema: schema, migrationsTable: table });
    } finally {
      await client.query(`select pg_advisory_unlock(hashtext('strongroom:migrate'))`);
    }
  } finally {
    client.release();
  }
  const after = await migrationStatus(database);
  const appliedNow = new Set(after.applied.map((m) => m.tag));
  return before.pending.filter((m) => appliedNow.has(m.tag)).map((m) => m.tag);
}
