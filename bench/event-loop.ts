/**
 * bench/event-loop: does heavy work on the pool keep the event loop free for light queries?
 *
 * p99 latency of `{ health { status } }` over loopback HTTP, sent at a fixed rate from a
 * separate process (so a blocked server shows up as latency, not as fewer requests):
 *   (a) idle;
 *   (b) while 2 × WORKER_THREADS CPU-heavy tasks of ~200 ms each run continuously through
 *       the worker pool (ours);
 *   (c) while the same heavy tasks run continuously on the main thread, one after another,
 *       as resolvers computing inline would (the blocking baseline).
 * Goal: (b) ≤ 2 × (a) and ≤ 25 ms on a 2-core machine.
 *
 *   node --import tsx bench/event-loop.ts [--seconds=5] [--rate=100]
 *
 * Uses DATABASE_URL when set, otherwise an in-memory embedded PGlite; the worker pool is
 * sized by WORKER_THREADS (default: the CPU count). The BENCH lines are printed last.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../src/config.ts';
import { openDatabases } from '../src/db/client.ts';
import { createLogger } from '../src/logger.ts';
import { createServer } from '../src/server.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { iteratedSha256 } from '../src/workers/tasks/self-test.ts';
import type { LoadJob } from './lib/light-load.ts';
import { percentile } from './lib/stats.ts';

const LIGHT_QUERY = JSON.stringify({ query: '{ health { status } }' });
const TASK_MS = 200;

/** Runs the load generator in its own process for `seconds` and returns every latency (ms). */
function measure(url: string, rate: number, seconds: number): Promise<number[]> {
  const job: LoadJob = { url, rate, seconds, body: LIGHT_QUERY };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lib/light-load.ts', import.meta.url)), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`load generator exited with ${code}`))));
  });
}

function argument(name: string, fallback: number): number {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = given ? Number(given.split('=')[1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`--${name} must be a positive number`);
  return value;
}

const seconds = argument('seconds', 5);
const rate = argument('rate', 100);
const config = parseConfig({ ...process.env, NODE_ENV: 'production', PORT: '0', LOG_LEVEL: 'silent', WORKER_TASK_TIMEOUTS: '' });
const logger = createLogger('silent');
const databases = await openDatabases({
  databaseUrl: config.databaseUrl,
  authDatabaseUrl: config.authDatabaseUrl,
  embeddedDir: undefined,
  poolMax: config.dbPoolMax,
});
const pool = openWorkerPool(config, logger);
const server = await createServer({ config, logger, databases, pool });
const url = await server.listen();
const threads = config.workerThreads;

// Warm up: every pool thread loads its task, the server's code paths get compiled.
await Promise.all(Array.from({ length: threads }, () => pool.defer({ kind: 'selfTest', input: { iterations: 10 } })));
await measure(url, rate, 1);

// Calibrate one heavy task to ~200 ms of hashing on this machine (fastest of three probes: least disturbed).
const probeRounds = 20_000;
let probeMs = Infinity;
for (let i = 0; i < 3; i++) {
  const started = performance.now();
  iteratedSha256(probeRounds);
  probeMs = Math.min(probeMs, performance.now() - started);
}
const iterations = Math.max(1000, Math.round((probeRounds * TASK_MS) / probeMs));

/** Keeps `concurrency` heavy tasks running until stopped; returns how many completed. */
function continuously(concurrency: number, runOne: () => Promise<unknown>) {
  let running = true;
  let completed = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      await runOne();
      completed++;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return completed;
    },
  };
}

const report = (label: string, latencies: number[]) => {
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  process.stdout.write(
    `${label.padEnd(38)} n=${latencies.length} p50=${p50.toFixed(2)}ms p99=${p99.toFixed(2)}ms max=${Math.max(...latencies).toFixed(2)}ms\n`,
  );
  return p99;
};

process.stdout.write(
  `event-loop: ${threads} worker thread(s) on ${availableParallelism()} CPU(s), heavy task = ${iterations} SHA-256 rounds (~${TASK_MS} ms), light query at ${rate}/s for ${seconds}s per phase\n`,
);

const idle = report('(a) idle', await measure(url, rate, seconds));

const pooled = continuously(2 * threads, () => pool.defer({ kind: 'selfTest', input: { iterations } }, { timeoutMs: 600_000 }));
const underLoad = report(`(b) ${2 * threads} heavy tasks through the pool`, await measure(url, rate, seconds));
const pooledDone = await pooled.stop();

// The same tasks on the main thread, one after another, yielding to I/O between tasks: the
// kindest form of blocking (running several at once would only hold the loop longer).
const inline = continuously(
  1,
  () =>
    new Promise<void>((resolve) =>
      setImmediate(() => {
        iteratedSha256(iterations);
        resolve();
      }),
    ),
);
const blocking = report(`(c) the same work on the main thread`, await measure(url, rate, seconds));
const inlineDone = await inline.stop();
process.stdout.write(`heavy tasks completed: pool ${pooledDone}, main thread ${inlineDone}\n`);

await server.close();
await pool.close();
await databases.close();

const ratio = (a: number, b: number) => Number((a / b).toPrecision(3)).toString();
process.stdout.write(`BENCH light-p99-under-load-vs-idle ours=${underLoad.toFixed(2)}ms baseline=${idle.toFixed(2)}ms ratio=${ratio(underLoad, idle)}\n`);
process.stdout.write(`BENCH light-p99-under-load ours=${underLoad.toFixed(2)}ms baseline=${blocking.toFixed(2)}ms ratio=${ratio(underLoad, blocking)}\n`);
