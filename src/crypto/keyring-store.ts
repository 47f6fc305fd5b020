/**
 * The keyring's rows in the auth database (`auth.keyring_keys`): reading them, unwrapping
 * them with the master key, and the writes `npm run keys` makes. Every write takes one
 * transaction-scoped advisory lock, so two processes never interleave keyring changes (two
 * first starts on an empty keyring create one set of keys; the unique partial index on the
 * primary of each kind stands behind it).
 */
import { randomBytes } from 'node:crypto';
import { and, eq, max, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { keyringKeys } from '../db/schema/auth.ts';
import { KeyringUnavailableError, NotFoundError } from '../errors.ts';
import type { MasterKey } from './master-key.ts';

export type KeyKind = 'data' | 'blind_index' | 'code';
export type KeyState = 'primary' | 'active' | 'retired';
export const KEY_KINDS: readonly KeyKind[] = ['data', 'blind_index', 'code'];

/** What is known of a key without its material: what `keys list` shows. */
export interface KeyInfo {
  readonly id: string;
  readonly kind: KeyKind;
  readonly version: number;
  readonly state: KeyState;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A key with its material, unwrapped: kept in process memory only. */
export interface UnwrappedKey extends KeyInfo {
  readonly material: Buffer;
  /** The wrapped form it came from, to skip unwrapping it again on refresh. */
  readonly wrappedKey: string;
}

type Row = typeof keyringKeys.$inferSelect;
type Db = NodePgDatabase;

/** Lock key of every keyring write (`hashtext('strongroom.keyring')` would do too; a constant is clearer). */
const KEYRING_LOCK = 7_246_913_005;

const ID_PREFIX: Record<KeyKind, string> = { data: 'dk', blind_index: 'bk', code: 'ck' };

/** The associated data every wrapped key is bound to: a row's material moved to another row does not unwrap. */
const aadOf = (row: Pick<Row, 'id' | 'kind' | 'version'>) => `strongroom keyring v1|${row.id}|${row.kind}|${row.version}`;

const info = (row: Row): KeyInfo => ({
  id: row.id,
  kind: row.kind,
  version: row.version,
  state: row.state,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** Every row, oldest first. */
export function readRows(db: Db): Promise<Row[]> {
  return db.select().from(keyringKeys).orderBy(keyringKeys.kind, keyringKeys.version);
}

/** A cheap check of whether the keyring changed: row count and the latest change. */
export async function readRevision(db: Db): Promise<string> {
  const [row] = await db.select({ n: sql<number>`count(*)::int`, at: sql<string | null>`max(${keyringKeys.updatedAt})::text` }).from(keyringKeys);
  return `${row?.n ?? 0}@${row?.at ?? ''}`;
}

/**
 * Unwraps a row; a row wrapped by another master key is `MASTER_KEY_WRONG`, a row that does
 * not unwrap (edited, truncated, swapped) is `KEY_ROW_INVALID`. `cache` skips rows unwrapped before.
 */
export function unwrapRow(row: Row, master: MasterKey, cache?: ReadonlyMap<string, UnwrappedKey>): UnwrappedKey {
  const known = cache?.get(row.id);
  if (known && known.wrappedKey === row.wrappedKey) return { ...known, ...info(row) };
  if (row.wrappedBy !== master.fingerprint || row.wrapping !== master.wrapping) {
    throw new KeyringUnavailableError(
      'MASTER_KEY_WRONG',
      `The keyring in the auth database was wrapped with another master key than the one from ${master.source}. Start with the master key it was made with; nothing was changed.`,
    );
  }
  let material: Buffer;
  try {
    material = master.unwrap(row.wrappedKey, aadOf(row));
  } catch {
    throw new KeyringUnavailableError(
      'KEY_ROW_INVALID',
      `Keyring key ${row.id} does not unwrap with the master key from ${master.source}: its row was altered or damaged.`,
    );
  }
  if (material.length !== 32) {
    throw new KeyringUnavailableError(
      'KEY_ROW_INVALID',
      `Keyring key ${row.id} unwraps to ${material.length} bytes instead of 32: its row was altered or damaged.`,
    );
  }
  return { ...info(row), material, wrappedKey: row.wrappedKey };
}

async function lock(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${KEYRING_LOCK})`);
}

async function insertKey(tx: Db, master: MasterKey, kind: KeyKind, material: Buffer, state: KeyState): Promise<KeyInfo> {
  const [last] = await tx
    .select({ version: max(keyringKeys.version) })
    .from(keyringKeys)
    .where(eq(keyringKeys.kind, kind));
  const version = (last?.version ?? 0) + 1;
  const id = `${ID_PREFIX[kind]}_${randomBytes(5).toString('hex')}`;
  const wrappedKey = master.wrap(material, aadOf({ id, kind, version }));
  const [row] = await tx
    .insert(keyringKeys)
    .values({ id, kind, version, state, wrapping: master.wrapping, wrappedBy: master.fingerprint, wrappedKey })
    .returning();
  return info(row!);
}

/** On an empty keyring (first start), creates a primary key of every kind that has none, in one transaction. */
export function createMissingKeys(db: Db, master: MasterKey): Promise<KeyInfo[]> {
  return db.transaction(async (tx) => {
    await lock(tx);
    const present = new Set((await tx.selectDistinct({ kind: keyringKeys.kind }).from(keyringKeys)).map((r) => r.kind));
    const created: KeyInfo[] = [];
    for (const kind of KEY_KINDS) if (!present.has(kind)) created.push(await insertKey(tx, master, kind, randomBytes(32), 'primary'));
    return created;
  });
}

/** Adds a key (32 bytes of `material`) as `active`: it opens values at once, and seals once promoted. */
export function addKey(db: Db, master: MasterKey, kind: KeyKind, material: Buffer): Promise<KeyInfo> {
  if (material.length !== 32) throw new TypeError('a keyring key is 32 bytes');
  return db.transaction(async (tx) => {
    await lock(tx);
    return insertKey(tx, master, kind, material, 'active');
  });
}

/** Makes `id` the primary of its kind; the former primary becomes active. */
export function promoteKey(db: Db, id: string): Promise<{ key: KeyInfo; previous: string | undefined }> {
  return db.transaction(async (tx) => {
    await lock(tx);
    const [row] = await tx.select().from(keyringKeys).where(eq(keyringKeys.id, id));
    if (!row) throw new NotFoundError(`There is no key ${id} in the keyring.`);
    const [previous] = await tx
      .update(keyringKeys)
      .set({ state: 'active', updatedAt: sql`clock_timestamp()` })
      .where(and(eq(keyringKeys.kind, row.kind), eq(keyringKeys.state, 'primary'), sql`${keyringKeys.id} <> ${id}`))
      .returning({ id: keyringKeys.id });
    const [promoted] = await tx.update(keyringKeys).set({ state: 'primary', updatedAt: sql`clock_timestamp()` }).where(eq(keyringKeys.id, id)).returning();
    return { key: info(promoted!), previous: previous?.id };
  });
}

/** Sets a key's state to retired after `check` (run under the keyring lock) allows it. */
export function retireKey(db: Db, id: string, check: (key: KeyInfo) => Promise<void>): Promise<KeyInfo> {
  return db.transaction(async (tx) => {
    await lock(tx);
    const [row] = await tx.select().from(keyringKeys).where(eq(keyringKeys.id, id));
    if (!row) throw new NotFoundError(`There is no key ${id} in the keyring.`);
    await check(info(row));
    const [retired] = await tx.update(keyringKeys).set({ state: 'retired', updatedAt: sql`clock_timestamp()` }).where(eq(keyringKeys.id, id)).returning();
    return info(retired!);
  });
}
