/**
 * What the auth stores run their statements on: the database itself, or a transaction of it.
 * Every store is built over one executor (see stores.ts), so a flow that writes several rows
 * builds its stores over its transaction and each statement of the flow runs inside it.
 */
import type { NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';

/** A drizzle database or transaction on `pg` (both are a `PgDatabase`). */
export type Executor = PgDatabase<NodePgQueryResultHKT, Record<string, never>>;
