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
 * Each round measures the three phases in turn; a phase's figure is the median of its
 * rounds' p99s. Goal: (b) ≤ 2 × (a), that is a `light-p99-under-load-vs-idle` ratio of at
 * least 0.5, and (b) ≤ 25 ms on a 2-core machine.
 *
 *   node --import tsx bench/event-loop.ts [--duration=5] [--rounds=3] [--warmup=3] [--rate=100]
 *
 * --duration is the seconds of light load per phase, --warmup the seconds of light load
 * before the first round, --rate the light queries per second. Runs on throwaway databases
 * (bench/lib/databases.ts), never the configured ones; the worker pool is sized by
 * WORKER_THREADS (default: the CPU count). The BENCH lines are printed last.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/logger.ts';
import { createServer } from '../src/server.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { iteratedSha256 } from '../src/workers/tasks/self-test.ts';
import { continuously } from './lib/background.ts';
import { openBenchDatabases } from './lib/databases.ts';
import type { LoadJob } from './lib/light-load.ts';
import { benchOptions, noteUnusedOptions, SHARED_OPTIONS } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { benchConfig } from './lib/server.ts';
import { median, percentile } from './lib/stats.ts';

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

const { values } = parseArgs({ strict: true, options: { ...SHARED_OPTIONS, rate: { type: 'string', default: '100' } } });
const options = benchOptions();
const rate = Number(values.rate);
if (!Number.isFinite(rate) || rate <= 0) throw new TypeError(`--rate must be a positive number, got ${JSON.stringify(values.rate)}`);
const seconds = options.durationSeconds;
noteUnusedOptions('event-loop', ['connections', 'cpu-prof-dir'], 'the light load is open-loop at --rate, and the server runs in this process');

const config = benchConfig({ LOG_LEVEL: 'silent', WORKER_TASK_TIMEOUTS: '' });
const logger = createLogger('silent');
const databases = await openBenchDatabases(config);
const pool = openWorkerPool(config, logger);
const server = await createServer({ config, logger, databases, keyring: databases.keyring, pool });
const url = await server.listen();
const threads = config.workerThreads;

// Warm up: every pool thread loads its task, the server's code paths get compiled.
await Promise.all(Array.from({ length: threads }, () => pool.defer({ kind: 'selfTest', input: { iterations: 10 } })));
if (options.warmupSeconds > 0) await measure(url, rate, options.warmupSeconds);

// Calibrate one heavy task to ~200 ms of hashing on this machine (fastest of three probes: least disturbed).
const probeRounds = 20_000;
let probeMs = Infinity;
for (let i = 0; i < 3; i++) {
  const started = performance.now();
  iteratedSha256(probeRounds);
  probeMs = Math.min(probeMs, performance.now() - started);
}
const iterations = Math.max(1000, Math.round((probeRounds * TASK_MS) / probeMs));

const report = (label: string, latencies: number[]) => {
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  process.stdout.write(
    `${label.padEnd(46)} n=${latencies.length} p50=${p50.toFixed(2)}ms p99=${p99.toFixed(2)}ms max=${Math.max(...latencies).toFixed(2)}ms\n`,
  );
  return p99;
};

process.stdout.write(
  `event-loop: ${threads} worker thread(s) on ${availableParallelism()} CPU(s), heavy task = ${iterations} SHA-256 rounds (~${TASK_MS} ms), light query at ${rate}/s for ${seconds}s per phase, ${options.rounds} round(s), databases: ${databases.label}\n`,
);

const p99s = { idle: [] as number[], pooled: [] as number[], blocking: [] as number[] };
let pooledDone = 0;
let inlineDone = 0;
for (let round = 1; round <= options.rounds; round++) {
  p99s.idle.push(report(`round ${round} (a) idle`, await measure(url, rate, seconds)));

  const pooled = continuously(2 * threads, () => pool.defer({ kind: 'selfTest', input: { iterations } }, { timeoutMs: 600_000 }));
  p99s.pooled.push(report(`round ${round} (b) ${2 * threads} heavy tasks via the pool`, await measure(url, rate, seconds)));
  pooledDone += await pooled.stop();

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
  p99s.blocking.push(report(`round ${round} (c) the same on the main thread`, await measure(url, rate, seconds)));
  inlineDone += await inline.stop();
}
process.stdout.write(`heavy tasks completed: pool ${pooledDone}, main thread ${inlineDone}\n`);

await server.close();
await pool.close();
await databases.close();

const [idle, underLoad, blocking] = [median(p99s.idle), median(p99s.pooled), median(p99s.blocking)];
// Lower latency is better: the ratio is baseline ÷ ours, so above 1 means ours is better.
printBenchLine({ metric: 'light-p99-under-load-vs-idle', ours: underLoad, baseline: idle, unit: 'ms', better: 'lower' });
printBenchLine({ metric: 'light-p99-under-load', ours: underLoad, baseline: blocking, unit: 'ms', better: 'lower' });
