/**
 * Blind-index rotation, the table side: after the keyring has made a new blind-index key
 * current (the old one kept as previous, so that lookups try both, `cipher.blindIndexes`),
 * every blind-index column is recomputed under the new key in batches, each one transaction
 * (`for update skip locked`, keyset by id). Only rows whose index is not yet of the current
 * version are read, so a stopped run resumes where it was; once none is left, the keyring
 * may drop the previous key. The work is an HMAC and one decryption per row, done through
 * the {@link FieldCipher} on this thread: the blind-index key never leaves the keyring.
 */
import { ENCRYPTED_COLUMNS, type EncryptedColumn } from '../../crypto/encrypted-columns.ts';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import type { Databases } from '../../db/client.ts';
import { columnSql, databaseOf, inTransaction, type ColumnSql } from './columns.ts';
import { isDecryptionFailure } from './failures.ts';
import type pg from 'pg';

export interface ReindexOptions {
  readonly databases: Pick<Databases, 'data' | 'auth'>;
  readonly cipher: FieldCipher;
  readonly batchSize: number;
  /** The entries to walk; default the ENCRYPTED_COLUMNS entries that have a blind index. */
  readonly columns?: readonly EncryptedColumn[];
  onProgress?(done: number, total: number): void;
}

export interface ReindexReport {
  readonly columns: readonly { readonly column: string; readonly reindexed: number; readonly undecryptable: number; readonly remaining: number }[];
  readonly reindexed: number;
  /** Rows whose index is still not of the current version (0 when the old key can go). */
  readonly remaining: number;
}

/** The version the current blind-index key writes (`"<version>:<mac>"`). */
export const currentBlindIndexVersion = (cipher: FieldCipher) => cipher.blindIndex('version probe').split(':')[0]!;

const stale = (c: ColumnSql) => `${c.value} is not null and ${c.keyId} is not null and (${c.blindIndex} is null or ${c.blindIndex} not like $1)`;

async function countStale(client: pg.Pool | pg.PoolClient, c: ColumnSql, version: string): Promise<number> {
  const found = await client.query<{ n: number }>(`select count(*)::int as n from ${c.table} where ${stale(c)}`, [`${version}:%`]);
  return found.rows[0]?.n ?? 0;
}

/** Recomputes every blind index not yet under the current key; see the module comment. */
export async function reindexBlindIndexes(options: ReindexOptions): Promise<ReindexReport> {
  const { cipher } = options;
  const version = currentBlindIndexVersion(cipher);
  const entries = (options.columns ?? ENCRYPTED_COLUMNS).filter((e) => e.blindIndexColumn !== undefined);
  const prepared: { entry: EncryptedColumn; c: ColumnSql }[] = [];
  let total = 0;
  for (const entry of entries) {
    const database = databaseOf(options.databases, entry);
    const c = await columnSql(database.pool, entry);
    prepared.push({ entry, c });
    total += await countStale(database.pool, c, version);
  }
  options.onProgress?.(0, total);
  let done = 0;
  const report: { column: string; reindexed: number; undecryptable: number; remaining: number }[] = [];
  for (const { entry, c } of prepared) {
    const database = databaseOf(options.databases, entry);
    let after: unknown = null;
    let reindexed = 0;
    let undecryptable = 0;
    for (;;) {
      const rows = await inTransaction(database, async (client) => {
        const batch = (
          await client.query<{ id: unknown; token: string; key_id: string }>(
            `select ${c.id} as id, ${c.value} as token, ${c.keyId} as key_id from ${c.table}
              where ${stale(c)} and ($2::${c.idType} is null or ${c.id} > $2::${c.idType})
              order by ${c.id} limit $3 for update skip locked`,
            [`${version}:%`, after, options.batchSize],
          )
        ).rows;
        const ids: unknown[] = [];
        const indexes: string[] = [];
        for (const row of batch) {
          try {
            indexes.push(cipher.blindIndex(cipher.open({ token: row.token, keyId: row.key_id })));
            ids.push(row.id);
          } catch (err) {
            if (!isDecryptionFailure(err)) throw err;
            undecryptable += 1;
          }
        }
        if (ids.length > 0) {
          await client.query(
            `update ${c.table} t set ${c.blindIndex} = v.blind_index from unnest($1::${c.idType}[], $2::text[]) as v(id, blind_index)
              where t.${c.id} between $3::${c.idType} and $4::${c.idType} and t.${c.id} = v.id`,
            [ids, indexes, ids[0], ids[ids.length - 1]],
          );
        }
        reindexed += ids.length;
        return batch;
      });
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      done += rows.length;
      options.onProgress?.(done, total);
    }
    report.push({ column: c.label, reindexed, undecryptable, remaining: await countStale(database.pool, c, version) });
  }
  return { columns: report, reindexed: report.reduce((n, r) => n + r.reindexed, 0), remaining: report.reduce((n, r) => n + r.remaining, 0) };
}
