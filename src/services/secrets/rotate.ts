/**
 * Key rotation (`npm run keys -- rotate`): re-encrypts every value of every encrypted column
 * whose key id is not the primary key's, so that older keys can be retired.
 *
 * Work goes in batches, each one transaction: the batch's rows are read `for update skip
 * locked` in id order after the previous batch's last id (keyset, so each batch costs the same
 * however far the run has gone), their tokens are decrypted and encrypted again off the main
 * thread (`reencrypt`, the worker pool's `reencryptSecrets` task), and each row's token and
 * key id are written together in one UPDATE before COMMIT. So a run stopped at any moment
 * (even `kill -9`) leaves every row either as it was or rotated, never half: a rerun selects
 * exactly the rows still under an old key, and nothing is encrypted twice, because a rotated
 * row's key id is the primary's and it is never selected again.
 *
 * While one batch waits for its worker, the next is read (`lanes` batches in flight), so the
 * database and the workers are busy at once. Rows another transaction held locked are skipped
 * and picked up by a further pass. A value no key opens is left exactly as it is, counted,
 * and reported by id; the run then ends with it unrotated (fail closed, nothing lost).
 */
import { ENCRYPTED_COLUMNS, type EncryptedColumn } from '../../crypto/encrypted-columns.ts';
import type { Databases } from '../../db/client.ts';
import { columnSql, databaseOf, type ColumnSql } from './columns.ts';
import type pg from 'pg';

/** One stored value as the worker receives it. */
export interface StoredValue {
  readonly token: string;
  readonly keyId: string;
}

export interface RotateOptions {
  readonly databases: Pick<Databases, 'data' | 'auth'>;
  /** The key every value should end under. */
  readonly primaryKeyId: string;
  /** Rows per transaction. */
  readonly batchSize: number;
  /** Batches in flight at once (reading the next while the previous is being encrypted); default 2. */
  readonly lanes?: number;
  /** The entries to walk; default every one of ENCRYPTED_COLUMNS. */
  readonly columns?: readonly EncryptedColumn[];
  /** Decrypts each value and encrypts it under the primary key: the new token, or null when no key opens it. */
  reencrypt(values: readonly StoredValue[]): Promise<readonly (string | null)[]>;
  /** Called after each committed batch with the rows handled so far (rotated or refused) and the total. */
  onProgress?(done: number, total: number): void;
}

export interface ColumnRotation {
  /** `table.column`. */
  readonly column: string;
  readonly rotated: number;
  /** Ids (as text) of values no key opens, left as they were; at most {@link MAX_REPORTED_IDS} listed. */
  readonly undecryptable: readonly string[];
  readonly undecryptableCount: number;
  /** Values still under another key after the run (undecryptable ones included). */
  readonly remaining: number;
}

export interface RotateReport {
  readonly columns: readonly ColumnRotation[];
  readonly rotated: number;
  readonly transactions: number;
  /** Values still under another key; 0 when the rotation is complete. */
  readonly remaining: number;
}

export const MAX_REPORTED_IDS = 10;
/** Passes over a column: later ones only pick up rows that were locked by someone else during the first. */
const MAX_PASSES = 3;

/** Values of `entry` not under `primaryKeyId` (sealed ones only: unsealed values are the sealing step's). */
export async function countToRotate(client: pg.Pool | pg.PoolClient, c: ColumnSql, primaryKeyId: string): Promise<number> {
  const found = await client.query<{ n: number }>(
    `select count(*)::int as n from ${c.table} where ${c.value} is not null and ${c.keyId} is not null and ${c.keyId} <> $1`,
    [primaryKeyId],
  );
  return found.rows[0]?.n ?? 0;
}

interface Progress {
  done: number;
  total: number;
  transactions: number;
}

/** One pass over a column in keyset order; returns the rows rotated and the ids refused. */
async function pass(options: RotateOptions, entry: EncryptedColumn, c: ColumnSql, progress: Progress, refused: Set<string>): Promise<number> {
  const database = databaseOf(options.databases, entry);
  const lanes = Math.max(1, options.lanes ?? 2);
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let after: unknown = null;
  let rotated = 0;

  /** Encrypts a read batch again, writes it and commits, on the client that holds its locks. */
  const finish = async (client: pg.PoolClient, rows: { id: unknown; token: string; key_id: string }[]) => {
    try {
      const tokens = await options.reencrypt(rows.map((r) => ({ token: r.token, keyId: r.key_id })));
      const ids: unknown[] = [];
      const next: string[] = [];
      const previous: string[] = [];
      rows.forEach((row, i) => {
        const token = tokens[i];
        if (token === null || token === undefined) {
          refused.add(String(row.id));
          return;
        }
        ids.push(row.id);
        next.push(token);
        previous.push(row.key_id);
      });
      if (ids.length > 0) {
        // The rows are locked by this transaction; the key-id condition is a second guard. The
        // batch's id range lets the planner read the rows by index rather than scan the table.
        await client.query(
          `update ${c.table} t set ${c.value} = v.token, ${c.keyId} = $4
             from unnest($1::${c.idType}[], $2::text[], $3::text[]) as v(id, token, previous)
            where t.${c.id} between $5::${c.idType} and $6::${c.idType} and t.${c.id} = v.id and t.${c.keyId} = v.previous`,
          [ids, next, previous, options.primaryKeyId, ids[0], ids[ids.length - 1]],
        );
      }
      await client.query('commit');
      rotated += ids.length;
      progress.done += rows.length;
      progress.transactions += 1;
      options.onProgress?.(progress.done, progress.total);
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };

  while (failure === undefined) {
    while (inflight.size >= lanes) await Promise.race(inflight);
    if (failure !== undefined) break;
    const client = await database.pool.connect();
    let rows: { id: unknown; token: string; key_id: string }[];
    try {
      await client.query('begin');
      rows = (
        await client.query<{ id: unknown; token: string; key_id: string }>(
          `select ${c.id} as id, ${c.value} as token, ${c.keyId} as key_id from ${c.table}
            where ${c.value} is not null and ${c.keyId} is not null and ${c.keyId} <> $1
              and ($2::${c.idType} is null or ${c.id} > $2::${c.idType})
            order by ${c.id} limit $3 for update skip locked`,
          [options.primaryKeyId, after, options.batchSize],
        )
      ).rows;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      client.release();
      failure = err;
      break;
    }
    if (rows.length === 0) {
      await client.query('commit').finally(() => client.release());
      break;
    }
    after = rows[rows.length - 1]!.id;
    const running: Promise<void> = finish(client, rows).then(
      () => {
        inflight.delete(running);
      },
      (err: unknown) => {
        inflight.delete(running);
        failure ??= err;
      },
    );
    inflight.add(running);
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
  return rotated;
}

/** Re-encrypts every value not under the primary key; see the module comment. */
export async function rotateKeys(options: RotateOptions): Promise<RotateReport> {
  const entries = options.columns ?? ENCRYPTED_COLUMNS;
  const prepared: { entry: EncryptedColumn; c: ColumnSql }[] = [];
  const progress: Progress = { done: 0, total: 0, transactions: 0 };
  for (const entry of entries) {
    const database = databaseOf(options.databases, entry);
    const c = await columnSql(database.pool, entry);
    prepared.push({ entry, c });
    progress.total += await countToRotate(database.pool, c, options.primaryKeyId);
  }
  options.onProgress?.(0, progress.total);
  const columns: ColumnRotation[] = [];
  for (const { entry, c } of prepared) {
    const database = databaseOf(options.databases, entry);
    const refused = new Set<string>();
    let rotated = 0;
    let remaining = 0;
    for (let i = 0; i < MAX_PASSES; i++) {
      const now = await pass(options, entry, c, progress, refused);
      rotated += now;
      remaining = await countToRotate(database.pool, c, options.primaryKeyId);
      // Done, or nothing left but values no key opens, or a pass that changed nothing.
      if (remaining <= refused.size || now === 0) break;
      // The next pass reads every remaining row again (refused ones too).
      progress.total += remaining;
    }
    columns.push({ column: c.label, rotated, undecryptable: [...refused].slice(0, MAX_REPORTED_IDS), undecryptableCount: refused.size, remaining });
  }
  return {
    columns,
    rotated: columns.reduce((n, r) => n + r.rotated, 0),
    transactions: progress.transactions,
    remaining: columns.reduce((n, r) => n + r.remaining, 0),
  };
}
