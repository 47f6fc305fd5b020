/**
 * The sealing step: encrypts the secrets that were stored in the clear before their column
 * was encrypted. A row whose `<column>_key_id` is NULL while its value is set holds such a
 * value; the step seals it under the primary key and records the key's id, in batches, each
 * batch one transaction (`for update skip locked`, so several processes starting at once
 * share the work rather than wait or seal a row twice). It is idempotent: a sealed row has its
 * key id and is never selected again. `npm run db:migrate` runs it after the SQL migrations,
 * and so does the server at start, before it serves.
 *
 * Until a row is sealed, reading it fails closed (`DECRYPTION_FAILED`): a NULL key id never
 * means "plaintext, return it as it is".
 *
 * A value that is already a Fernet token some key of the keyring opens (put there by a tool
 * that knew the key, e.g. the old app's value copied over) is not sealed a second time: its
 * plaintext is sealed again under the primary key, so that the row names the key that made it.
 */
import { ENCRYPTED_COLUMNS, type EncryptedColumn } from '../../crypto/encrypted-columns.ts';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import type { Databases } from '../../db/client.ts';
import { isDecryptionFailure } from './failures.ts';
import { columnSql, databaseOf, inTransaction } from './columns.ts';

/** A Fernet token's shape: version 0x80 then a timestamp, URL-safe base64, at least 73 bytes. */
const FERNET_SHAPE = /^gAAAAA[A-Za-z0-9_-]{94,}={0,2}$/;

export interface SealOptions {
  readonly databases: Pick<Databases, 'data' | 'auth'>;
  readonly cipher: FieldCipher;
  /** Rows per transaction. */
  readonly batchSize: number;
  /** The entries to walk; default every one of ENCRYPTED_COLUMNS. */
  readonly columns?: readonly EncryptedColumn[];
}

export interface SealReport {
  /** Per entry (`table.column`): rows sealed now, and rows still unsealed (locked by another process meanwhile). */
  readonly columns: readonly { readonly column: string; readonly sealed: number; readonly remaining: number }[];
  readonly sealed: number;
}

/** The plaintext of a value stored before encryption (see the module comment for tokens). */
function plaintextOf(cipher: FieldCipher, value: string): string {
  if (!FERNET_SHAPE.test(value)) return value;
  try {
    return cipher.open({ token: value, keyId: cipher.primaryKeyId });
  } catch (err) {
    if (isDecryptionFailure(err)) return value;
    throw err;
  }
}

/** Seals every value still in the clear; see the module comment. */
export async function sealPlaintext(options: SealOptions): Promise<SealReport> {
  const { cipher, batchSize } = options;
  const report: { column: string; sealed: number; remaining: number }[] = [];
  for (const entry of options.columns ?? ENCRYPTED_COLUMNS) {
    const database = databaseOf(options.databases, entry);
    const c = await columnSql(database.pool, entry);
    let after: unknown = null;
    let sealed = 0;
    for (;;) {
      const batch = await inTransaction(database, async (client) => {
        const rows = (
          await client.query<{ id: unknown; value: string }>(
            `select ${c.id} as id, ${c.value} as value from ${c.table}
              where ${c.value} is not null and ${c.keyId} is null and ($1::${c.idType} is null or ${c.id} > $1::${c.idType})
              order by ${c.id} limit $2 for update skip locked`,
            [after, batchSize],
          )
        ).rows;
        if (rows.length === 0) return rows;
        const tokens: string[] = [];
        const keyIds: string[] = [];
        const indexes: string[] = [];
        for (const row of rows) {
          const plaintext = plaintextOf(cipher, row.value);
          const sealed = cipher.seal(plaintext);
          tokens.push(sealed.token);
          keyIds.push(sealed.keyId);
          if (c.blindIndex) indexes.push(cipher.blindIndex(plaintext));
        }
        const bi = c.blindIndex !== undefined;
        // Rows come in id order: the batch's id range lets the planner read them by index.
        await client.query(
          `update ${c.table} t set ${c.value} = v.token, ${c.keyId} = v.key_id${bi ? `, ${c.blindIndex} = v.blind_index` : ''}
             from unnest($1::${c.idType}[], $2::text[], $3::text[]${bi ? ', $4::text[]' : ''}) as v(id, token, key_id${bi ? ', blind_index' : ''})
            where t.${c.id} between $${bi ? 5 : 4}::${c.idType} and $${bi ? 6 : 5}::${c.idType} and t.${c.id} = v.id and t.${c.keyId} is null`,
          [rows.map((r) => r.id), tokens, keyIds, ...(bi ? [indexes] : []), rows[0]!.id, rows[rows.length - 1]!.id],
        );
        return rows;
      });
      if (batch.length === 0) break;
      sealed += batch.length;
      after = batch[batch.length - 1]!.id;
    }
    const left = await database.pool.query<{ n: number }>(`select count(*)::int as n from ${c.table} where ${c.value} is not null and ${c.keyId} is null`);
    report.push({ column: c.label, sealed, remaining: left.rows[0]?.n ?? 0 });
  }
  return { columns: report, sealed: report.reduce((n, r) => n + r.sealed, 0) };
}

/** Values still stored in the clear, per entry; read without the keyring, so a tool can tell whether it needs one. */
export async function countUnsealed(databases: Pick<Databases, 'data' | 'auth'>, columns: readonly EncryptedColumn[] = ENCRYPTED_COLUMNS): Promise<number> {
  let total = 0;
  for (const entry of columns) {
    const database = databaseOf(databases, entry);
    const c = await columnSql(database.pool, entry);
    const found = await database.pool.query<{ n: number }>(`select count(*)::int as n from ${c.table} where ${c.value} is not null and ${c.keyId} is null`);
    total += found.rows[0]?.n ?? 0;
  }
  return total;
}

/** `sealed 14 value(s) stored in the clear: auth.users.totp_secret 12, …`, or undefined when nothing was sealed. */
export function describeSealing(report: SealReport): string | undefined {
  if (report.sealed === 0) return undefined;
  const parts = report.columns.filter((c) => c.sealed > 0).map((c) => `${c.column} ${c.sealed}`);
  return `sealed ${report.sealed} value(s) stored in the clear: ${parts.join(', ')}`;
}
