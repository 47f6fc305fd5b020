/**
 * `npm run rollups -- rebuild|check`: recount the licence event rollups from the raw events, or
 * compare them (see src/services/statistics/rollups.ts). The trigger keeps them current on
 * every write, so these are for repairs and for peace of mind.
 */
import { loadConfig } from '../src/config.ts';
import { describeMismatch, migrationStatus } from '../src/db/migrate.ts';
import { checkRollups, rebuildRollups } from '../src/services/statistics/rollups.ts';
import { createProgress } from './lib/progress.ts';
import { named, openConfiguredDatabases, parseCliArgs, RefusedError, runCli, UsageError, wholeNumber } from './lib/cli.ts';

const USAGE = `usage: npm run rollups -- rebuild [--single-transaction] [--batch-weeks N] [--from YYYY-MM-DD]
       npm run rollups -- check
  rebuild               recount every rollup from the raw events: in batches of weeks, each
                        its own transaction (writers wait for the batch running, never longer),
                        or in one transaction with --single-transaction
  --batch-weeks N       weeks per batch (default 4)
  --from DATE           resume an interrupted rebuild at the week of DATE (UTC)
  check                 compare the rollups with the raw events; exit 1 when they differ`;

runCli('rollups', USAGE, async () => {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'rebuild' && command !== 'check') throw new UsageError(command ? `unknown command "${command}"` : 'name a command');
  const args = parseCliArgs(rest, {
    'single-transaction': { type: 'boolean' },
    'batch-weeks': { type: 'string' },
    from: { type: 'string' },
  });
  if (command === 'check' && Object.keys(args).length > 0) throw new UsageError('check takes no options');
  const batchWeeks = wholeNumber(args['batch-weeks'], 'batch-weeks', 4, 1, 10_000);
  let from: Date | undefined;
  if (args.from !== undefined) {
    from = /^\d{4}-\d{2}-\d{2}$/.test(args.from) ? new Date(`${args.from}T00:00:00Z`) : new Date(Number.NaN);
    if (Number.isNaN(from.getTime())) throw new UsageError(`--from must be a date like 2025-01-31, got "${args.from}"`);
  }

  const config = loadConfig();
  const databases = await openConfiguredDatabases(config);
  try {
    const mismatch = describeMismatch(await migrationStatus(databases.data), databases.data.label);
    if (mismatch.length > 0) throw new RefusedError(`${mismatch.join('\n')}\nRun npm run db:migrate first.`);
    const { pool } = databases.data;
    if (command === 'check') {
      const { count, differences } = await checkRollups(pool);
      if (count === 0) {
        process.stdout.write(`${named(databases.data)}: the rollups match the raw events\n`);
        return;
      }
      for (const d of differences) {
        process.stdout.write(
          `${d.bucketSeconds} s from ${d.bucketStart.toISOString()} ${JSON.stringify([d.application, d.source, d.kind])}: stored ${d.stored}, raw events ${d.expected}\n`,
        );
      }
      throw new RefusedError(`${named(databases.data)}: ${count} rollup rows differ from the raw events; run npm run rollups -- rebuild`);
    }
    process.stdout.write(
      `${named(databases.data)}: rebuilding the rollups${args['single-transaction'] ? ' in one transaction' : ` in batches of ${batchWeeks} weeks`}\n`,
    );
    const bar = createProgress({ label: 'weeks', total: 0 });
    let resumeFrom: Date | undefined;
    try {
      const result = await rebuildRollups(pool, {
        singleTransaction: args['single-transaction'] === true,
        batchWeeks,
        ...(from ? { from } : {}),
        onProgress: (done, total, next) => {
          resumeFrom = next;
          bar.update(done, total);
        },
      });
      bar.finish();
      process.stdout.write(`rebuilt ${result.weeks} weeks in ${result.batches} transaction(s)\n`);
    } catch (err) {
      bar.finish();
      // Every batch before this one is committed and right.
      if (resumeFrom && !args['single-transaction']) {
        process.stderr.write(`rollups: resume with npm run rollups -- rebuild --from ${resumeFrom.toISOString().slice(0, 10)}\n`);
      }
      throw err;
    }
  } finally {
    await databases.close();
  }
});
