/** Prometheus metrics of the worker pool, fed by its events and read from its stats at scrape time. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TASK_OUTCOMES, type WorkerPool } from './pool.ts';

/** Seconds: from a few ms (a small task) to minutes (a large PDF). */
const TASK_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Registers the pool's metrics on `registry`; returns a function that stops feeding them. */
export function registerPoolMetrics(registry: Registry, pool: WorkerPool, kinds: readonly string[]): () => void {
  const registers = [registry];
  new Gauge({
    name: 'strongroom_worker_threads',
    help: 'Worker threads alive.',
    registers,
    collect() {
      this.set(pool.stats().threads);
    },
  });
  new Gauge({
    name: 'strongroom_worker_threads_busy',
    help: 'Worker threads running a task.',
    registers,
    collect() {
      this.set(pool.stats().running);
    },
  });
  new Gauge({
    name: 'strongroom_worker_utilization_ratio',
    help: 'Busy worker threads divided by configured threads (0 to 1).',
    registers,
    collect() {
      const { running, configuredThreads } = pool.stats();
      this.set(Math.min(1, running / configuredThreads));
    },
  });
  new Gauge({
    name: 'strongroom_worker_queue_depth',
    help: 'Heavy tasks waiting for a free worker.',
    registers,
    collect() {
      this.set(pool.stats().queued);
    },
  });
  new Gauge({
    name: 'strongroom_worker_queue_capacity',
    help: 'Most heavy tasks that may wait (WORKER_MAX_QUEUE).',
    registers,
    collect() {
      this.set(pool.stats().maxQueue);
    },
  });
  const wait = new Histogram({
    name: 'strongroom_worker_task_wait_seconds',
    help: 'Time a task waited for a worker, by kind.',
    labelNames: ['kind'],
    buckets: TASK_BUCKETS,
    registers,
  });
  const run = new Histogram({
    name: 'strongroom_worker_task_run_seconds',
    help: 'Time a task ran on a worker until it settled, by kind.',
    labelNames: ['kind'],
    buckets: TASK_BUCKETS,
    registers,
  });
  const outcomes = new Counter({
    name: 'strongroom_worker_tasks_total',
    help: 'Tasks settled, by kind and outcome (ok, timeout, cancelled, busy, failed).',
    labelNames: ['kind', 'outcome'],
    registers,
  });
  const exits = new Counter({
    name: 'strongroom_worker_exits_total',
    help: 'Worker threads replaced, by reason (recycled after N tasks, stopped on timeout or cancel, crashed).',
    labelNames: ['reason'],
    registers,
  });
  for (const kind of kinds) for (const outcome of TASK_OUTCOMES) outcomes.inc({ kind, outcome }, 0);
  for (const reason of ['recycled', 'stopped', 'crashed']) exits.inc({ reason }, 0);

  return pool.observe((event) => {
    switch (event.type) {
      case 'queued':
      case 'started':
      case 'workerReady':
        break;
      case 'settled':
        outcomes.inc({ kind: event.kind, outcome: event.outcome });
        if (event.outcome !== 'busy') wait.observe({ kind: event.kind }, event.waitMs / 1000);
        if (event.runMs !== undefined) run.observe({ kind: event.kind }, event.runMs / 1000);
        break;
      case 'workerExit':
        exits.inc({ reason: event.reason });
        break;
      default: {
        const unreachable: never = event;
        throw new TypeError(`unhandled pool event ${JSON.stringify(unreachable)}`);
      }
    }
  });
}
