/**
 * Benchmark of `db:seed`: events written per second by the batched generator, beside a
 * straightforward baseline of one INSERT per event, both measured in this run on a scratch
 * database (created on DATABASE_URL's server and dropped after; or an in-memory PGlite
 * when DATABASE_URL is unset). The baseline writes fewer events (`--baseline-events`,
 * default 5000) and its rate is extrapolated: at that rate a million rows would take minutes.
 *
 *   node --import tsx bench/db-seed.ts [--events 1000000] [--licences 10000] [--baseline-events 5000]
 *
 * Goal: 1 M events in ≤ 10 s on PostgreSQL. The BENCH line is printed last.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Database } from '../src/db/client.ts';
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { seed, seedEvents, SEED_PREFIX } from '../src/db/seed.ts';
import { createLicenceService } from '../src/services/licences.ts';
import { parseCliArgs, runCli, wholeNumber } from '../scripts/lib/cli.ts';

const USAGE = 'usage: node --import tsx bench/db-seed.ts [--events N] [--licences M] [--baseline-events B]';

runCli('bench db-seed', USAGE, async () => {
  const args = parseCliArgs(process.argv.slice(2), {
    events: { type: 'string' },
    licences: { type: 'string' },
    'baseline-events': { type: 'string' },
  });
  const events = wholeNumber(args.events, 'events', 1_000_000, 1, 100_000_000);
  const licenceCount = wholeNumber(args.licences, 'licences', 10_000, 1, 10_000_000);
  const baselineEvents = wholeNumber(args['baseline-events'], 'baseline-events', 5000, 1, 1_000_000);
  const config = loadConfig();

  let url: string;
  let embedded: EmbeddedPostgres | undefined;
  let dropScratch = async () => {};
  if (config.databaseUrl) {
    const name = `strongroom_bench_${randomBytes(4).toString('hex')}`;
    const admin = async (statement: string) => {
      const c = new pg.Client({ connectionString: config.databaseUrl });
      await c.connect();
      await c.query(statement).finally(() => c.end());
    };
    await admin(`create database "${name}"`);
    dropScratch = () => admin(`drop database if exists "${name}" with (force)`);
    const u = new URL(config.databaseUrl);
    u.pathname = `/${name}`;
    url = u.toString();
  } else {
    embedded = await startEmbeddedPostgres(undefined);
    url = embeddedUrl(embedded);
  }
  let data: Database | undefined;
  try {
    data = await openDatabase('data', { connectionString: url }, 4);
    await migrateDatabase(data);
    const licences = createLicenceService(data);
    const until = new Date('2025-01-01T00:00:00Z');
    const options = { events, licences: licenceCount, seed: 1, until };

    const ours = await seed(data, licences, options);
    const oursRate = ours.events / (ours.eventsMs / 1000);
    process.stdout.write(`seed: ${ours.events} events in ${(ours.eventsMs / 1000).toFixed(2)} s on ${embedded ? 'PGlite' : 'PostgreSQL'}\n`);

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
    process.stdout.write(
      `BENCH seed-events-per-second ours=${Math.round(oursRate)}/s baseline=${Math.round(baselineRate)}/s ratio=${(oursRate / baselineRate).toFixed(2)}\n`,
    );
  } finally {
    await data?.pool.end();
    await embedded?.close();
    await dropScratch();
  }
});
