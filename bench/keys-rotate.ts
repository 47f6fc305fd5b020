/**
 * Benchmark of `npm run keys -- rotate`: values re-encrypted per second by the rotation engine
 * (src/services/secrets/rotate.ts: keyset batches, each one transaction, the Fernet work on the
 * worker pool while the next batch is read), beside a baseline measured in the same run: the
 * hand-written migration script a Django project would run, one row per transaction,
 * decrypting and encrypting on the main thread.
 *
 *   node --import tsx bench/keys-rotate.ts [--rows 100000] [--batch 1000] [--baseline-rows 5000]
 *
 * The values are licence keys (`licensing.licences.licence_key`) when that column is in
 * ENCRYPTED_COLUMNS, else users' TOTP secrets (`auth.users.totp_secret`), sealed under an old
 * key and rotated to a new one. The baseline rotates fewer rows (`--baseline-rows`) and its rate is
 * extrapolated. It works on a fixed number of rows, so the shared --duration/--rounds options
 * do not apply (a note says so when they are given). The BENCH line is printed last.
 */
import { Fernet, generateKey } from '../src/crypto/fernet.ts';
import { ENCRYPTED_COLUMNS } from '../src/crypto/encrypted-columns.ts';
import { columnSql } from '../src/services/secrets/columns.ts';
import { rotateKeys } from '../src/services/secrets/rotate.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { parseCliArgs, runCli, wholeNumber } from '../scripts/lib/cli.ts';
import { createProgress } from '../scripts/lib/progress.ts';
import { openBenchDatabases } from './lib/databases.ts';
import { benchOptions, noteUnusedOptions, SHARED_OPTIONS } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { benchConfig, benchLogger } from './lib/server.ts';

const USAGE = 'usage: node --import tsx bench/keys-rotate.ts [--rows N] [--batch B] [--baseline-rows M]';
const LICENCES = ENCRYPTED_COLUMNS.find((e) => e.table === 'licensing.licences');
const COLUMN = LICENCES ?? ENCRYPTED_COLUMNS.find((e) => e.table === 'auth.users' && e.column === 'totp_secret')!;

/** Inserts rows whose secret is each of `tokens`, sealed under `keyId`: licences, or users with a TOTP secret. */
const INSERT = LICENCES
  ? `insert into licensing.licences (username, application, unique_id, licence_key, licence_key_key_id)
     select 'bench' || (g + $1), 'BenchApp', 'BENCH-' || (g + $1), t, $3 from unnest($2::text[]) with ordinality as u(t, g)`
  : `insert into auth.users (email, username, password_hash, totp_secret, totp_secret_key_id)
     select 'bench' || (g + $1) || '@example.com', 'bench' || (g + $1), 'x', t, $3 from unnest($2::text[]) with ordinality as u(t, g)`;

runCli('bench keys-rotate', USAGE, async () => {
  const args = parseCliArgs(process.argv.slice(2), {
    ...SHARED_OPTIONS,
    rows: { type: 'string' },
    batch: { type: 'string' },
    'baseline-rows': { type: 'string' },
  });
  benchOptions();
  noteUnusedOptions('keys-rotate', ['duration', 'rounds', 'warmup', 'connections', 'cpu-prof-dir'], 'it rotates a fixed number of values (--rows)');
  const rows = wholeNumber(args.rows, 'rows', 100_000, 1, 10_000_000);
  const batchSize = wholeNumber(args.batch, 'batch', 1000, 1, 100_000);
  const baselineRows = Math.min(rows, wholeNumber(args['baseline-rows'], 'baseline-rows', 5000, 1, 1_000_000));
  const config = benchConfig({ DB_POOL_MAX: '4' });
  const databases = await openBenchDatabases(config);
  const pool = openWorkerPool(config, benchLogger(config));
  try {
    const database = databases[COLUMN.database];
    const c = await columnSql(database.pool, COLUMN);
    const oldKey = { id: 'bench-old', key: generateKey() };
    const newKey = { id: 'bench-new', key: generateKey() };
    const old = new Fernet(oldKey.key);
    const fresh = new Fernet(newKey.key);

    // Values sealed under the old key, written 10 000 to a statement.
    for (let start = 0; start < rows; start += 10_000) {
      const n = Math.min(10_000, rows - start);
      const tokens = Array.from({ length: n }, (_, i) => old.encrypt(`JBSWY3DPEHPK3PXP${String(start + i).padStart(16, 'A')}`));
      await database.pool.query(INSERT, [start, tokens, oldKey.id]);
    }
    process.stdout.write(
      `${rows} values of ${c.label} under the old key on ${databases.label}; ${config.workerThreads} worker thread(s), batches of ${batchSize}\n`,
    );

    const bar = createProgress({ label: 'rotate', total: rows });
    const started = performance.now();
    const report = await rotateKeys({
      databases,
      columns: [COLUMN],
      primaryKeyId: newKey.id,
      batchSize,
      reencrypt: async (values) => (await pool.defer({ kind: 'reencryptSecrets', input: { keys: [newKey, oldKey], primaryKeyId: newKey.id, values } })).tokens,
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.finish();
    const oursSeconds = (performance.now() - started) / 1000;
    if (report.rotated !== rows || report.remaining !== 0) throw new Error(`rotated ${report.rotated} of ${rows}, ${report.remaining} left`);
    const oursRate = rows / oursSeconds;
    process.stdout.write(`ours: ${rows} values in ${oursSeconds.toFixed(2)} s, ${report.transactions} transactions\n`);

    // Baseline: back to the old key, one row per transaction, Fernet on the main thread.
    const ids = (
      await database.pool.query<{ id: string }>(`select ${c.id} as id from ${c.table} where ${c.keyId} = $1 order by ${c.id} limit $2`, [
        newKey.id,
        baselineRows,
      ])
    ).rows;
    const client = await database.pool.connect();
    const baselineStarted = performance.now();
    try {
      for (const { id } of ids) {
        await client.query('begin');
        const row = (await client.query<{ token: string }>(`select ${c.value} as token from ${c.table} where ${c.id} = $1 for update`, [id])).rows[0]!;
        const token = old.encrypt(fresh.decrypt(row.token));
        await client.query(`update ${c.table} set ${c.value} = $2, ${c.keyId} = $3 where ${c.id} = $1`, [id, token, oldKey.id]);
        await client.query('commit');
      }
    } finally {
      client.release();
    }
    const baselineRate = ids.length / ((performance.now() - baselineStarted) / 1000);
    process.stdout.write(
      `baseline: ${ids.length} values one per transaction on the main thread at ${Math.round(baselineRate)}/s (${rows} would take ${Math.round(rows / baselineRate)} s)\n`,
    );
    printBenchLine({ metric: 'keys-rotate-values-per-second', ours: oursRate, baseline: baselineRate, unit: 'values/s' });
  } finally {
    await pool.close();
    await databases.close();
  }
});
