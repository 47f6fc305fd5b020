/**
 * Key management, what `npm run keys` does (scripts/keys.ts): list the keyring with how many
 * stored values each key protects, generate or import a key, promote one, retire one that no
 * value uses any more. Every change is one transaction under the keyring's lock
 * (src/crypto/keyring-store.ts); other processes notice it within `KEYRING_REFRESH_SECONDS`.
 */
import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { CODE_HASH_COLUMNS, type CodeHashColumn, ENCRYPTED_COLUMNS, type EncryptedColumn } from '../crypto/encrypted-columns.ts';
import { decodeUrlSafeBase64 } from '../crypto/fernet.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { addKey, type KeyInfo, type KeyKind, promoteKey, retireKey } from '../crypto/keyring-store.ts';
import type { Databases } from '../db/client.ts';
import { BadUserInputError, StrongroomError } from '../errors.ts';

/** A key as `keys list` shows it. */
export interface KeyListing extends KeyInfo {
  /** Stored values the key protects: data keys over ENCRYPTED_COLUMNS, blind-index keys over their index columns, code keys over CODE_HASH_COLUMNS. */
  readonly values: number;
}

export interface KeysService {
  list(): Promise<KeyListing[]>;
  /** How many stored values use `key`. */
  valuesUsing(key: KeyInfo): Promise<number>;
  /** A new random key of `kind`, `active` until promoted. */
  generate(kind: KeyKind): Promise<KeyInfo>;
  /** Imports a data key made by Python's `Fernet.generate_key()` (URL-safe base64 of 32 bytes), `active` until promoted. */
  addFernetKey(fernetKey: string): Promise<KeyInfo>;
  /**
   * Makes `id` the primary of its kind. A key younger than twice `KEYRING_REFRESH_SECONDS`
   * is promoted only after that age (`onWait` is told how long), so that every process has
   * loaded it before a value is sealed with it.
   */
  promote(id: string, onWait?: (ms: number) => void): Promise<{ key: KeyInfo; previous: string | undefined }>;
  /** Retires `id`; refused with `KEY_IN_USE` while it is primary or any stored value uses it. */
  retire(id: string): Promise<KeyInfo>;
}

export interface KeysServiceDeps {
  readonly databases: Databases;
  readonly keyring: Keyring;
  readonly refreshSeconds: number;
  readonly now?: () => Date;
  /** The columns values are counted in; default {@link ENCRYPTED_COLUMNS} and {@link CODE_HASH_COLUMNS} (tests pass their own). */
  readonly columns?: { readonly encrypted: readonly EncryptedColumn[]; readonly codeHashes: readonly CodeHashColumn[] };
}

/** `schema.table` or `column` as a quoted identifier (the names come from our own lists, never from input). */
const ident = (name: string) =>
  sql.raw(
    name
      .split('.')
      .map((part) => `"${part.replaceAll('"', '""')}"`)
      .join('.'),
  );

export function createKeysService(deps: KeysServiceDeps): KeysService {
  const { databases, keyring } = deps;
  const now = deps.now ?? (() => new Date());
  const db = (name: 'auth' | 'data'): NodePgDatabase => databases[name].db;
  const columns = deps.columns ?? { encrypted: ENCRYPTED_COLUMNS, codeHashes: CODE_HASH_COLUMNS };

  /** Counts per key id (data keys) or per version prefix (blind-index and code keys), over every listed column. */
  async function counts(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const add = (key: string, n: number) => out.set(key, (out.get(key) ?? 0) + n);
    for (const c of columns.encrypted) {
      const rows = await db(c.database).execute<{ key: string | null; n: number }>(
        sql`select ${ident(c.keyIdColumn)} as key, count(*)::int as n from ${ident(c.table)} where ${ident(c.column)} is not null group by 1`,
      );
      for (const r of rows.rows) if (r.key !== null) add(`data:${r.key}`, r.n);
      if (c.blindIndexColumn) {
        const blind = await db(c.database).execute<{ key: string | null; n: number }>(
          sql`select split_part(${ident(c.blindIndexColumn)}, ':', 1) as key, count(*)::int as n from ${ident(c.table)} where ${ident(c.blindIndexColumn)} is not null group by 1`,
        );
        for (const r of blind.rows) if (r.key !== null) add(`blind_index:${r.key}`, r.n);
      }
    }
    for (const c of columns.codeHashes) {
      const rows = await db(c.database).execute<{ key: string | null; n: number }>(
        sql`select split_part(${ident(c.column)}, ':', 1) as key, count(*)::int as n from ${ident(c.table)} where ${ident(c.column)} is not null group by 1`,
      );
      for (const r of rows.rows) if (r.key !== null) add(`code:${r.key}`, r.n);
    }
    return out;
  }
  const countKey = (key: KeyInfo) => (key.kind === 'data' ? `data:${key.id}` : `${key.kind}:${key.version}`);

  const service: KeysService = {
    async list() {
      await keyring.refresh();
      const n = await counts();
      return keyring.keys().map((key) => ({ ...key, values: n.get(countKey(key)) ?? 0 }));
    },
    async valuesUsing(key) {
      return (await counts()).get(countKey(key)) ?? 0;
    },
    async generate(kind) {
      const key = await addKey(databases.auth.db, keyring.masterKey, kind, randomBytes(32));
      await keyring.refresh();
      return key;
    },
    async addFernetKey(fernetKey) {
      const material = decodeUrlSafeBase64(fernetKey.trim());
      if (material?.length !== 32)
        throw new BadUserInputError('--fernet-key must be a Fernet key: URL-safe base64 of 32 bytes, as Fernet.generate_key() prints.', 'fernetKey');
      const key = await addKey(databases.auth.db, keyring.masterKey, 'data', material);
      await keyring.refresh();
      return key;
    },
    async promote(id, onWait) {
      await keyring.refresh();
      const key = keyring.keys().find((k) => k.id === id);
      if (key) {
        const wait = key.createdAt.getTime() + 2 * deps.refreshSeconds * 1000 - now().getTime();
        if (wait > 0 && key.state !== 'primary') {
          onWait?.(wait);
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
      const result = await promoteKey(databases.auth.db, id);
      await keyring.refresh();
      return result;
    },
    async retire(id) {
      // Values are counted before the keyring's transaction, never inside it: the embedded
      // database serves one transaction at a time, so a count on another connection would wait
      // for it. No value can start using a key that is not primary meanwhile (only the primary
      // seals), and the transaction refuses a key that became primary.
      await keyring.refresh();
      const known = keyring.keys().find((k) => k.id === id);
      const values = known ? await service.valuesUsing(known) : 0;
      const key = await retireKey(databases.auth.db, id, async (k) => {
        if (k.state === 'primary') {
          throw new StrongroomError('KEY_IN_USE', `Key ${k.id} is the primary ${k.kind.replace('_', '-')} key: promote another first.`, { values: null });
        }
        if (values > 0) {
          throw new StrongroomError(
            'KEY_IN_USE',
            `Key ${k.id} still protects ${values} stored value(s): rotate them to the primary key first (npm run keys -- rotate).`,
            { values },
          );
        }
      });
      await keyring.refresh();
      return key;
    },
  };
  return service;
}
