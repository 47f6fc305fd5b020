/**
 * `npm run keys -- rotate [--batch N] [--blind-index]`: the commands that rewrite stored
 * secrets, over the engines in src/services/secrets/.
 *
 * `rotate` seals any value still stored in the clear, then re-encrypts every value whose key is
 * not the primary data key (rotate.ts), the Fernet work on the worker pool: the data keys go to
 * the workers as plain data in each task, and exist nowhere but in memory. It resumes where a
 * stopped run was (only rows still under an old key are read), and exits 1 if any value is
 * left under an old key (locked throughout, or opened by no key: listed by id).
 *
 * `rotate --blind-index` makes a new blind-index key primary (the old one stays active, so
 * lookups try both), waits until every process has seen it (KEYRING_REFRESH_SECONDS),
 * re-indexes the rows in batches, and retires the old key once no row uses it. Run again after
 * an interruption, it carries on with the key it made rather than making another.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../src/config.ts';
import { encodeUrlSafeBase64 } from '../../src/crypto/fernet.ts';
import type { Keyring } from '../../src/crypto/keyring.ts';
import { addKey, promoteKey, readRows, retireKey, unwrapRow } from '../../src/crypto/keyring-store.ts';
import type { Databases } from '../../src/db/client.ts';
import { createLogger, logDestination } from '../../src/logger.ts';
import { reindexBlindIndexes, currentBlindIndexVersion } from '../../src/services/secrets/reindex.ts';
import { rotateKeys } from '../../src/services/secrets/rotate.ts';
import { sealPlaintext } from '../../src/services/secrets/seal.ts';
import { openWorkerPool } from '../../src/workers/index.ts';
import { RefusedError } from './cli.ts';
import { createProgress } from './progress.ts';

export interface RotateContext {
  readonly config: Config;
  readonly databases: Databases;
  readonly keyring: Keyring;
  /** Rows per transaction. */
  readonly batchSize: number;
  readonly out: (line: string) => void;
}

/** The non-retired data keys with their material, for the workers: primary first. */
async function dataKeysForWorkers(keyring: Keyring): Promise<{ id: string; key: string }[]> {
  const rows = await readRows(keyring.database.db);
  const keys = rows
    .filter((r) => r.kind === 'data' && r.state !== 'retired')
    .map((r) => unwrapRow(r, keyring.masterKey))
    .sort((a, b) => (a.state === 'primary' ? -1 : b.state === 'primary' ? 1 : b.version - a.version));
  return keys.map((k) => ({ id: k.id, key: encodeUrlSafeBase64(k.material) }));
}

/** `keys rotate`: see the module comment. */
export async function rotateCommand(ctx: RotateContext): Promise<void> {
  const { config, databases, keyring, batchSize, out } = ctx;
  await keyring.refresh(true);
  const sealed = await sealPlaintext({ databases, cipher: keyring, batchSize });
  if (sealed.sealed > 0) out(`sealed ${sealed.sealed} value(s) that were stored in the clear`);
  const keys = await dataKeysForWorkers(keyring);
  const primaryKeyId = keyring.primaryKeyId;
  if (keys[0]?.id !== primaryKeyId) throw new RefusedError('The keyring changed while it was read; run the command again.');
  // Workers log only problems, to stderr: stdout is for the summary.
  const pool = openWorkerPool(config, createLogger('warn', logDestination({ dest: 2, bufferBytes: 0, flushMs: 0 })));
  const bar = createProgress({ label: 'rotate', total: 0 });
  try {
    const report = await rotateKeys({
      databases,
      primaryKeyId,
      batchSize,
      lanes: Math.max(2, config.workerThreads),
      reencrypt: async (values) => (await pool.defer({ kind: 'reencryptSecrets', input: { keys, primaryKeyId, values } })).tokens,
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.finish();
    for (const c of report.columns) {
      out(`${c.column}: ${c.rotated} re-encrypted${c.remaining > 0 ? `, ${c.remaining} still under an old key` : ''}`);
      if (c.undecryptableCount > 0) out(`  ${c.undecryptableCount} value(s) no key opens, left as they were; ids: ${c.undecryptable.join(', ')}`);
    }
    out(`rotated ${report.rotated} value(s) to key ${primaryKeyId} in ${report.transactions} transaction(s)`);
    if (report.remaining > 0) {
      throw new RefusedError(
        `${report.remaining} value(s) are still under an old key; run npm run keys -- rotate again (values no key opens are listed above).`,
      );
    }
  } finally {
    bar.finish();
    await pool.close();
  }
}

/** `keys rotate --blind-index`: see the module comment. */
export async function rotateBlindIndexCommand(ctx: RotateContext): Promise<void> {
  const { config, databases, keyring, batchSize, out } = ctx;
  await keyring.refresh(true);
  const blind = keyring.keys().filter((k) => k.kind === 'blind_index');
  const underWay = blind.some((k) => k.state === 'active');
  if (!underWay) {
    const added = await addKey(keyring.database.db, keyring.masterKey, 'blind_index', randomBytes(32));
    await promoteKey(keyring.database.db, added.id);
    await keyring.refresh(true);
    out(`new blind-index key ${added.id} (version ${added.version}) is primary; lookups try the old one too until the end`);
    // Until every process has read the keyring again, some still write indexes under the old key.
    out(`waiting ${config.keyringRefreshSeconds} s for every process to see it`);
    await sleep((config.keyringRefreshSeconds + 1) * 1000);
  } else {
    out('carrying on with the blind-index rotation already under way');
  }
  const bar = createProgress({ label: 'reindex', total: 0 });
  const report = await reindexBlindIndexes({ databases, cipher: keyring, batchSize, onProgress: (done, total) => bar.update(done, total) });
  bar.finish();
  for (const c of report.columns) out(`${c.column}: ${c.reindexed} re-indexed${c.undecryptable > 0 ? `, ${c.undecryptable} that no key opens` : ''}`);
  if (report.remaining > 0) {
    throw new RefusedError(`${report.remaining} row(s) still carry an index under the old key; run npm run keys -- rotate --blind-index again.`);
  }
  const version = Number(currentBlindIndexVersion(keyring));
  for (const old of keyring.keys().filter((k) => k.kind === 'blind_index' && k.state === 'active' && k.version !== version)) {
    await retireKey(keyring.database.db, old.id, async () => {});
    out(`retired the old blind-index key ${old.id}`);
  }
  await keyring.refresh(true);
}
