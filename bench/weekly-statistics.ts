/**
 * bench/weekly-statistics: the server time of `weeklyStatistics` for a one-year range at
 * 1 M events (10 M with `--events 10000000`), in UTC and in Asia/Kolkata, beside two
 * baselines measured in the same run on the same database:
 *   (a) the raw-SQL path: three GROUP BYs over the events (summary, frequency, by source);
 *   (b) the old stack: pandas `read_sql` + `pivot_table` through /usr/bin/python3 (skipped,
 *       with a note, when python3-pandas or python3-psycopg2 is missing).
 * Then the p99 of a light query (`{ health { status } }`, sent at a fixed rate from another
 * process) while 8 clients run weeklyStatistics in a loop, beside the same p99 idle; and what
 * keeping the rollups costs `db:seed`: events per second with the triggers, beside a second
 * seed of the same rows with them disabled.
 *
 *   npm run bench -- weekly-statistics [--events 1000000] [--licences 10000] [--queries 20] [--rate 100] [--clients 8]
 *     (and the shared options: --duration sets the light-load seconds, --rounds the baseline rounds)
 *
 * Server time is the operation's `durationMs` from the server's own log line (from the request
 * reaching /graphql to the answer being ready). Goals (issue 11): ≤ 50 ms at 1 M and 10 M
 * events, ≥ 80× pandas, light p99 under load ≤ 2× idle. Uses DATABASE_URL's server (a
 * throwaway database) or an in-memory PGlite.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { seed } from '../src/db/seed.ts';
import { createLogger } from '../src/logger.ts';
import { createServer } from '../src/server.ts';
import { ANONYMOUS } from '../src/services/auth/caller.ts';
import { createStoreServices } from '../src/services/index.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { createProgress } from '../scripts/lib/progress.ts';
import type { ClosedLoopJob } from './lib/closed-loop.ts';
import { openBenchDatabases } from './lib/databases.ts';
import type { LoadJob } from './lib/light-load.ts';
import { benchOptions, noteUnusedOptions, SHARED_OPTIONS } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { benchConfig } from './lib/server.ts';
import { median, percentile } from './lib/stats.ts';

const { values: args } = parseArgs({
  strict: true,
  options: {
    ...SHARED_OPTIONS,
    events: { type: 'string' },
    licences: { type: 'string' },
    queries: { type: 'string' },
    rate: { type: 'string' },
    clients: { type: 'string' },
  },
});
const options = benchOptions();
noteUnusedOptions('weekly-statistics', ['warmup', 'connections', 'cpu-prof-dir'], 'it sends --clients query loops and a fixed-rate light load');
const number = (name: 'events' | 'licences' | 'queries' | 'rate' | 'clients', fallback: number) => {
  const raw = args[name];
  const n = typeof raw === 'string' ? Number(raw.replace(/_/g, '')) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`--${name} must be a positive whole number`);
  return n;
};
const EVENTS = number('events', 1_000_000);
const LICENCES = number('licences', 10_000);
const QUERIES = number('queries', 20);
const SECONDS = options.durationSeconds;
const ROUNDS = options.rounds;
const RATE = number('rate', 100);
const CLIENTS = number('clients', 8);
const UNTIL = new Date('2025-01-01T00:00:00Z');
const RANGE = { from: '2024-01-01', to: '2024-12-31' };
const ZONES = [
  ['utc', 'UTC'],
  ['kolkata', 'Asia/Kolkata'],
] as const;

const WEEKLY = `query Weekly($from: Date!, $to: Date!, $timeZone: String) {
  weeklyStatistics(from: $from, to: $to, timeZone: $timeZone) {
    summary { columns rows { key start values total } totals grandTotal }
    frequency { kind count share }
    bySource { columns rows { key start values total } totals grandTotal }
  }
}`;

const RAW_SQL = [
  `select date_trunc('week', occurred_at at time zone $1) as week, application, count(*) from licensing.licence_events
    where occurred_at at time zone $1 >= $2::date and occurred_at at time zone $1 < $3::date + 1 group by 1, 2 order by 1, 2`,
  `select kind, count(*), count(*)::float8 / sum(count(*)) over () as share from licensing.licence_events
    where occurred_at at time zone $1 >= $2::date and occurred_at at time zone $1 < $3::date + 1 group by 1 order by 2 desc`,
  `select date_trunc('week', occurred_at at time zone $1) as week, source, count(*) from licensing.licence_events
    where occurred_at at time zone $1 >= $2::date and occurred_at at time zone $1 < $3::date + 1 group by 1, 2 order by 1, 2`,
];

const say = (line: string) => process.stdout.write(`${line}\n`);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Runs a child process and resolves with its stdout (rejects on a non-zero exit). */
function child(command: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${path.basename(argv[0] ?? command)} exited with ${code}: ${err.trim().split('\n').at(-1)}`)),
    );
  });
}
const node = (script: string, job: unknown) => child(process.execPath, ['--import', 'tsx', here(script), JSON.stringify(job)]);

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-bench-stats-'));
const config = benchConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'info' });
const databases = await openBenchDatabases(config);
const durations: { operation: string; ms: number }[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.includes('"durationMs"')) continue;
      const entry = JSON.parse(line) as { operationName?: string; durationMs?: number };
      if (typeof entry.durationMs === 'number') durations.push({ operation: entry.operationName ?? '', ms: entry.durationMs });
    }
    done();
  },
});
const logger = createLogger('info', logSink);
const pool = openWorkerPool(config, logger);

try {
  say(`weekly-statistics: ${EVENTS} events, ${LICENCES} licences, on ${databases.label}; one-year range ${RANGE.from} … ${RANGE.to}`);
  const store = createStoreServices({ config, databases, keyring: databases.keyring, logger: createLogger('silent') });
  const bar = createProgress({ label: 'seed', total: EVENTS });
  const seeded = await seed(databases.data, store.licences, { events: EVENTS, licences: LICENCES, seed: 1, until: UNTIL }, (p) => {
    if (p.phase === 'events') bar.update(p.done, p.total);
  });
  bar.finish();
  const withRollups = seeded.events / (seeded.eventsMs / 1000);
  say(`seed: ${seeded.events} events (${seeded.via}) in ${(seeded.eventsMs / 1000).toFixed(1)} s with the rollup triggers`);
  // As after any bulk load (autovacuum gets there too, later).
  await databases.data.pool.query(
    'vacuum analyze licensing.licence_events, reporting.licence_event_rollups, reporting.licence_event_pair_rollups, reporting.licence_event_series, reporting.licence_event_pairs',
  );

  const server = await createServer({ config, logger, databases, keyring: databases.keyring, pool });
  const url = await server.listen();
  const password = 'bench analyst password 1';
  await store.auth.createUser(ANONYMOUS, { email: 'analyst@bench.invalid', username: 'bench-analyst', password, role: 'ANALYST' }, '127.0.0.1');
  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  };
  const signedIn = await post({
    query: 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "bench") { tokens { accessToken } } }',
    variables: { e: 'analyst@bench.invalid', p: password },
  });
  const token = (signedIn.data?.signIn as { tokens: { accessToken: string } } | undefined)?.tokens.accessToken;
  if (!token) throw new Error(`sign-in failed: ${JSON.stringify(signedIn.errors)}`);
  const auth = { authorization: `Bearer ${token}` };

  // Ours: server time per query, after a warm-up.
  const ours: Record<string, number> = {};
  let grandTotal = 0;
  for (const [name, timeZone] of ZONES) {
    const body = { query: WEEKLY, operationName: 'Weekly', variables: { ...RANGE, timeZone } };
    for (let i = 0; i < 3; i++) {
      const answer = await post(body, auth);
      if (answer.errors) throw new Error(`weeklyStatistics failed: ${JSON.stringify(answer.errors)}`);
      grandTotal = (answer.data?.weeklyStatistics as { summary: { grandTotal: number } } | undefined)?.summary.grandTotal ?? 0;
    }
    durations.length = 0;
    for (let i = 0; i < QUERIES; i++) await post(body, auth);
    const samples = durations.filter((d) => d.operation === 'Weekly').map((d) => d.ms);
    ours[name] = median(samples);
    say(
      `ours ${timeZone}: median ${ours[name]!.toFixed(1)} ms, p95 ${percentile(samples, 95).toFixed(1)} ms over ${samples.length} queries (grand total ${grandTotal})`,
    );
  }

  // (a) Three GROUP BYs over the raw events, timed from here (round trips included, ~0.1 ms each).
  const client = new pg.Client(databases.data.connection);
  await client.connect();
  const raw: Record<string, number> = {};
  for (const [name, timeZone] of ZONES) {
    const rounds: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      for (const sql of RAW_SQL) await client.query(sql, [timeZone, RANGE.from, RANGE.to]);
      rounds.push(performance.now() - started);
    }
    raw[name] = median(rounds);
    say(`raw SQL ${timeZone}: median ${raw[name]!.toFixed(1)} ms over ${ROUNDS} rounds of three GROUP BYs`);
  }
  await client.end();
  for (const [name] of ZONES) printBenchLine({ metric: `weekly-statistics-${name}`, ours: ours[name]!, baseline: raw[name]!, unit: 'ms', better: 'lower' });

  // (b) pandas, as the old stack did it.
  // A URL on PostgreSQL; libpq's key=value form for the embedded database's unix socket.
  const { connectionString, host, port, user, database } = databases.data.connection;
  const pandasDsn = connectionString ?? `host=${String(host)} port=${String(port)} user=${String(user)} dbname=${String(database)}`;
  try {
    await child('/usr/bin/python3', ['-c', 'import pandas, psycopg2']);
    const out = JSON.parse(
      await child('/usr/bin/python3', [
        here('./lib/weekly_statistics_pandas.py'),
        JSON.stringify({ dsn: pandasDsn, timeZone: 'UTC', ...RANGE, rounds: ROUNDS }),
      ]),
    ) as { ms: number; total: number };
    say(`pandas read_sql + pivot_table UTC: median ${out.ms.toFixed(0)} ms over ${ROUNDS} rounds (grand total ${out.total})`);
    printBenchLine({ metric: 'weekly-statistics-vs-pandas', ours: ours.utc!, baseline: out.ms, unit: 'ms', better: 'lower' });
  } catch (err) {
    say(`# pandas baseline skipped: ${(err as Error).message.split('\n')[0]} (install python3-pandas and python3-psycopg2; see bench/README.md)`);
  }

  // A light query's p99, idle and while CLIENTS clients run weeklyStatistics in a loop.
  const light: LoadJob = { url, rate: RATE, seconds: SECONDS, body: JSON.stringify({ query: '{ health { status } }' }) };
  await node('./lib/light-load.ts', { ...light, seconds: 1 });
  const idle = percentile(JSON.parse(await node('./lib/light-load.ts', light)) as number[], 99);
  const heavy: ClosedLoopJob = {
    url,
    clients: CLIENTS,
    seconds: SECONDS + 1,
    headers: auth,
    body: JSON.stringify({ query: WEEKLY, operationName: 'Weekly', variables: { ...RANGE, timeZone: 'Asia/Kolkata' } }),
  };
  const heavyRun = node('./lib/closed-loop.ts', heavy);
  await new Promise((r) => setTimeout(r, 500));
  const loaded = percentile(JSON.parse(await node('./lib/light-load.ts', light)) as number[], 99);
  const { requests, failures } = JSON.parse(await heavyRun) as { requests: number; failures: number };
  say(
    `light query p99: idle ${idle.toFixed(2)} ms, with ${CLIENTS} clients running weeklyStatistics ${loaded.toFixed(2)} ms (${requests} weeklyStatistics answered, ${failures} failed)`,
  );
  printBenchLine({ metric: 'weekly-statistics-light-p99', ours: loaded, baseline: idle, unit: 'ms', better: 'lower' });
  await server.close();

  // What the rollups cost db:seed: the same rows again, with the triggers off.
  await databases.data.pool.query('alter table licensing.licence_events disable trigger user');
  const without = await seed(databases.data, store.licences, { events: EVENTS, licences: LICENCES, seed: 1, until: UNTIL });
  const withoutRollups = without.events / (without.eventsMs / 1000);
  say(`seed without the rollup triggers: ${(without.eventsMs / 1000).toFixed(1)} s`);
  printBenchLine({ metric: 'weekly-statistics-seed-rate', ours: withRollups, baseline: withoutRollups, unit: 'events/s' });
  await store.close();
} finally {
  await pool.close();
  await databases.close();
  await rm(dataDir, { recursive: true, force: true });
}
