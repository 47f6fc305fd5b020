/**
 * `npm run db:seed -- --events N --licences M --seed S [--until YYYY-MM-DD]`: writes a
 * deterministic set of realistic licences and licence events (see src/db/seed.ts), with a
 * progress bar on stderr. Replaces earlier seeded rows; leaves everything else alone.
 */
import { loadConfig } from '../src/config.ts';
import { describeMismatch, migrationStatus } from '../src/db/migrate.ts';
import { seed, type SeedProgress } from '../src/db/seed.ts';
import { createLogger } from '../src/logger.ts';
import { openKeyring } from '../src/crypto/keyring.ts';
import { createStoreServices } from '../src/services/index.ts';
import { createProgress, type ProgressBar } from './lib/progress.ts';
import { named, openConfiguredDatabases, parseCliArgs, RefusedError, runCli, UsageError, wholeNumber } from './lib/cli.ts';

const USAGE = `usage: npm run db:seed -- [--events N] [--licences M] [--seed S] [--until YYYY-MM-DD] [--batch B] [--concurrency C] [--via copy|insert]
  --events N      licence events to write (default 100000)
  --licences M    licences the events belong to (default 1000)
  --seed S        PRNG seed; the same options give the same rows (default 1)
  --until DATE    end of the year the events fall in (default: today, UTC)
  --batch B       events per COPY or INSERT statement (default 100000)
  --concurrency C statements in flight at once (default 2)
  --via W         copy (COPY FROM STDIN) or insert (INSERT … SELECT FROM unnest);
                  default copy, or insert on the embedded database, which has no COPY FROM STDIN`;

/** One bar per phase (licences, then events), drawn by the shared progress bar. */
function progressBar() {
  let bar: ProgressBar | undefined;
  let phase: SeedProgress['phase'] | undefined;
  return (p: SeedProgress) => {
    if (p.phase !== phase) {
      bar?.finish();
      phase = p.phase;
      bar = createProgress({ label: p.phase, total: p.total });
    }
    bar!.update(p.done, p.total);
    if (p.done >= p.total) bar!.finish();
  };
}

function parseUntil(raw: string | undefined): Date {
  if (raw === undefined) {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  }
  const date = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--until must be a date like 2025-01-31, got "${raw}"`);
  return date;
}

runCli('db:seed', USAGE, async () => {
  const args = parseCliArgs(process.argv.slice(2), {
    events: { type: 'string' },
    licences: { type: 'string' },
    seed: { type: 'string' },
    until: { type: 'string' },
    batch: { type: 'string' },
    concurrency: { type: 'string' },
    via: { type: 'string' },
  });
  if (args.via !== undefined && args.via !== 'copy' && args.via !== 'insert') throw new UsageError(`--via must be copy or insert, got "${args.via}"`);
  const options = {
    events: wholeNumber(args.events, 'events', 100_000, 0, 100_000_000),
    licences: wholeNumber(args.licences, 'licences', 1000, 1, 10_000_000),
    seed: wholeNumber(args.seed, 'seed', 1, 0, 2 ** 32 - 1),
    until: parseUntil(args.until),
    batchSize: wholeNumber(args.batch, 'batch', 100_000, 1, 1_000_000),
    concurrency: wholeNumber(args.concurrency, 'concurrency', 2, 1, 16),
    via: args.via as 'copy' | 'insert' | undefined,
  };
  const config = loadConfig();
  const databases = await openConfiguredDatabases(config);
  try {
    const mismatch = describeMismatch(await migrationStatus(databases.data), databases.data.label);
    if (mismatch.length > 0) throw new RefusedError(`${mismatch.join('\n')}\nRun npm run db:migrate first.`);
    process.stdout.write(
      `${named(databases.data)}: seeding ${options.licences} licences and ${options.events} events (seed ${options.seed}, year until ${options.until.toISOString().slice(0, 10)})\n`,
    );
    const keyring = await openKeyring({ database: databases.auth, config, logger: createLogger(config.logLevel) });
    const services = createStoreServices({ config, databases, keyring, logger: createLogger('silent') });
    const result = await seed(databases.data, services.licences, options, progressBar()).finally(async () => {
      await services.close();
      keyring.close();
    });
    const seconds = result.eventsMs / 1000;
    process.stdout.write(
      `removed ${result.removed} earlier seeded licences; wrote ${result.licences} licences, then ${result.events} events (${result.via}) in ${seconds.toFixed(1)} s (${Math.round(result.events / Math.max(seconds, 0.001))} events/s)\n`,
    );
  } finally {
    await databases.close();
  }
});
