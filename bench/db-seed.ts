/**
 * Benchmark of `db:seed`: events written per second by the batched generator, beside a
 * straightforward baseline of one INSERT per event, both measured in this run on throwaway
 * databases (bench/lib/databases.ts). The baseline writes fewer events (`--baseline-events`,
 * default 5000) and its rate is extrapolated: at that rate a million rows would take minutes.
 *
 *   node --import tsx bench/db-seed.ts [--events 1000000] [--licences 10000] [--baseline-events 5000]
 *
 * It writes a fixed number of events, so the runner's shared options (--duration, --rounds…)
 * are accepted and do not apply (a note says so when they are given).
 * Goal: 1 M events in ≤ 10 s on PostgreSQL. The BENCH line is printed last.
 */
import { seed, seedEvents, SEED_PREFIX } from '../src/db/seed.ts';
import { createLicenceService } from '../src/services/licences.ts';
import { parseCliArgs, runCli, wholeNumber } from '../scripts/lib/cli.ts';
import { openBenchDatabases } from './lib/databases.ts';
import { benchOptions, noteUnusedOptions, SHARED_OPTIONS } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { benchConfig } from './lib/server.ts';

const USAGE = 'usage: node --import tsx bench/db-seed.ts [--events N] [--licences M] [--baseline-events B]';

runCli('bench db-seed', USAGE, async () => {
  const args = parseCliArgs(process.argv.slice(2), {
    ...SHARED_OPTIONS,
    events: { type: 'string' },
    licences: { type: 'string' },
    'baseline-events': { type: 'string' },
  });
  benchOptions(); // refuses malformed shared options, as every benchmark does
  noteUnusedOptions('db-seed', ['duration', 'rounds', 'warmup', 'connections', 'cpu-prof-dir'], 'it writes a fixed number of events (--events)');
  const events = wholeNumber(args.events, 'events', 1_000_000, 1, 100_000_000);
  const licenceCount = wholeNumber(args.licences, 'licences', 10_000, 1, 10_000_000);
  const baselineEvents = wholeNumber(args['baseline-events'], 'baseline-events', 5000, 1, 1_000_000);
  const databases = await openBenchDatabases(benchConfig({ DB_POOL_MAX: '4' }));
  try {
    const data = databases.data;
    const licences = createLicenceService({ database: data, cipher: databases.keyring });
    const until = new Date('2025-01-01T00:00:00Z');
    const options = { events, licences: licenceCount, seed: 1, until };

    const ours = await seed(data, licences, options);
    const oursRate = ours.events / (ours.eventsMs / 1000);
    process.stdout.write(`seed: ${ours.events} events in ${(ours.eventsMs / 1000).toFixed(2)} s (${ours.via}) on ${databases.label}\n`);

    // Baseline: the same generated rows, one INSERT statement per event.
    const ids = (
      await data.pool.query<{ id: string; application: string }>(`select id, application from licensing.licences where unique_id like $1 order by unique_id`, [
        `${SEED_PREFIX}%`,
      ])
    ).rows;
    const columns = seedEvents(options, 0, baselineEvents);
    const sources = ['desktop', 'web', 'api', 'installer', 'licence-server'];
    const kinds = ['validated', 'activated', 'renewed', 'deactivated', 'check_failed', 'expired'];
    const started = performance.now();
    for (let i = 0; i < baselineEvents; i++) {
      const licence = ids[columns.licence[i]!]!;
      await data.pool.query(
        `insert into licensing.licence_events (licence_id, application, source, kind, occurred_at) values ($1, $2, $3, $4, to_timestamp($5))`,
        [licence.id, licence.application, sources[columns.source[i]!], kinds[columns.kind[i]!], columns.occurredAt[i]],
      );
    }
    const baselineRate = baselineEvents / ((performance.now() - started) / 1000);
    process.stdout.write(
      `baseline: ${baselineEvents} single-row INSERTs at ${Math.round(baselineRate)} events/s (a million would take ${Math.round(1e6 / baselineRate)} s)\n`,
    );
    printBenchLine({ metric: 'seed-events-per-second', ours: oursRate, baseline: baselineRate, unit: 'events/s' });
  } finally {
    await databases.close();
  }
});
