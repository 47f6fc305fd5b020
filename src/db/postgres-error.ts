/**
 * The one walk along an error's `cause` chain to the PostgreSQL server error inside it.
 *
 * drizzle wraps a driver error in its own `DrizzleQueryError`, whose message holds the SQL
 * and its parameters; the `pg` error it wraps carries what is safe and useful: the SQLSTATE,
 * the constraint, the table and a message of the server's own (no parameters). Everything
 * that branches on a database failure (unique violations, permission errors, log lines)
 * asks this function, so it looks in one place and in one way.
 */

/** The fields of a PostgreSQL server error (pg's DatabaseError) this codebase reads. */
export interface PostgresError extends Error {
  /** SQLSTATE, e.g. `23505` (unique_violation). */
  readonly code: string;
  readonly severity: string;
  readonly constraint?: string;
  readonly table?: string;
  readonly schema?: string;
  readonly column?: string;
}

/** How many causes are followed at most (a cycle of causes must not loop forever). */
const MAX_DEPTH = 8;

/** The PostgreSQL server error along `err`'s cause chain, or undefined when there is none. */
export function postgresError(err: unknown): PostgresError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && e instanceof Error; depth++, e = e.cause) {
    if ('severity' in e && typeof (e as { code?: unknown }).code === 'string') return e as PostgresError;
  }
  return undefined;
}

/** The constraint named by a unique violation (SQLSTATE 23505) along `err`'s causes, else undefined. */
export function uniqueViolation(err: unknown): string | undefined {
  const pg = postgresError(err);
  return pg?.code === '23505' ? (pg.constraint ?? '') : undefined;
}
