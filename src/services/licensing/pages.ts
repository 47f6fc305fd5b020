/**
 * The `licences` connection: keyset pages on (created_at, id), so rows inserted while a client
 * pages through land after its cursor or before it, and never shift what it has not yet seen
 * (an OFFSET would). The cursor carries created_at as PostgreSQL prints it, microseconds
 * included: a JavaScript Date keeps milliseconds only, and rounding the key would skip or repeat
 * rows created within the same millisecond.
 */
import { and, asc, eq, gt, lt, or, sql, type SQL } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { licences } from '../../db/schema/licensing.ts';
import { BadUserInputError } from '../../errors.ts';
import { required, toRecord, type LicenceRecord } from './records.ts';

export interface LicenceFilter {
  readonly application?: string | null;
  readonly username?: string | null;
  readonly active?: boolean | null;
  readonly expiresBefore?: Date | null;
}

export interface LicencePage {
  readonly edges: readonly { readonly cursor: string; readonly node: LicenceRecord }[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** created_at as PostgreSQL prints a timestamptz (ISO DateStyle), any offset. */
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;
const MAX_CURSOR_LENGTH = 200;

const encodeCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id]), 'utf8').toString('base64url');

function decodeCursor(cursor: string): { at: string; id: string } {
  const bad = () => new BadUserInputError('after is not a cursor of this list.', 'after');
  if (cursor.length > MAX_CURSOR_LENGTH) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad();
  const [at, id] = parsed as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !PG_TIMESTAMP.test(at) || !UUID.test(id)) throw bad();
  return { at, id };
}

function conditions(filter: LicenceFilter | null | undefined): SQL[] {
  const where: SQL[] = [];
  if (!filter) return where;
  if (filter.application != null) where.push(eq(licences.application, required(filter.application, 'filter.application')));
  if (filter.username != null) where.push(eq(licences.username, required(filter.username, 'filter.username')));
  if (filter.active != null) where.push(eq(licences.active, filter.active));
  if (filter.expiresBefore != null) {
    if (Number.isNaN(filter.expiresBefore.getTime())) throw new BadUserInputError('filter.expiresBefore is not a valid date.', 'filter.expiresBefore');
    where.push(lt(licences.expiresAt, filter.expiresBefore));
  }
  return where;
}

/** One page of licences matching `filter`, after `after`, at most `first` (1–`pageMax`). */
export async function listLicences(
  db: NodePgDatabase,
  args: { readonly filter?: LicenceFilter | null; readonly first: number; readonly after?: string | null },
  pageMax: number,
): Promise<LicencePage> {
  if (!Number.isInteger(args.first) || args.first < 1 || args.first > pageMax) {
    throw new BadUserInputError(`first must be between 1 and ${pageMax}.`, 'first');
  }
  const where = conditions(args.filter);
  if (args.after != null) {
    const { at, id } = decodeCursor(args.after);
    const atSql = sql`${at}::timestamptz`;
    where.push(or(gt(licences.createdAt, atSql), and(eq(licences.createdAt, atSql), gt(licences.id, id)))!);
  }
  const rows = await db
    .select({ row: licences, at: sql<string>`${licences.createdAt}::text` })
    .from(licences)
    .where(and(...where))
    .orderBy(asc(licences.createdAt), asc(licences.id))
    .limit(args.first + 1);
  const page = rows.slice(0, args.first);
  const edges = page.map(({ row, at }) => ({ cursor: encodeCursor(at, row.id), node: toRecord(row) }));
  return { edges, hasNextPage: rows.length > args.first, endCursor: edges.at(-1)?.cursor ?? null };
}
