/**
 * The worker pool and its one `defer()`: how every heavy path leaves the event loop.
 *
 * Piscina owns the threads (start, memory limits, stop on abort, replace when one dies).
 * In front of it sits our own bounded FIFO queue, because the contract is ours to keep:
 * - a task is refused with SERVER_BUSY at once, before any work, when `maxQueue` tasks
 *   already wait (Piscina's own `maxQueue` does not count tasks that carry an AbortSignal);
 * - the time limit starts when the task is deferred, so time spent queued counts;
 * - an aborted signal removes a queued task or stops the worker running it;
 * - a worker is recycled after `recycleAfterTasks` tasks (Piscina has no such option): our
 *   load balancer stops giving it work and it is terminated once idle; Piscina starts a
 *   replacement, as it does for a worker that crashed.
 * Outcomes are coded errors: TIMEOUT, SERVER_BUSY, CANCELLED, INTERNAL_SERVER_ERROR (the
 * cause is logged with the correlation id, never sent).
 */
import { randomUUID } from 'node:crypto';
import { Piscina } from 'piscina';
import { CancelledError, describeForLog, ServerBusyError, StrongroomError, TimeoutError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { TaskInput, TaskOutput, TaskRegistry } from './tasks.ts';

export type TaskOutcome = 'ok' | 'timeout' | 'cancelled' | 'busy' | 'failed';
export const TASK_OUTCOMES: readonly TaskOutcome[] = ['ok', 'timeout', 'cancelled', 'busy', 'failed'];

/** Why a worker thread went away. */
export type WorkerExitReason = 'recycled' | 'stopped' | 'crashed';

/** What the pool reports to observers (metrics, tests). Times are milliseconds. */
export type PoolEvent =
  | { readonly type: 'queued'; readonly id: number; readonly kind: string }
  | { readonly type: 'started'; readonly id: number; readonly kind: string; readonly waitMs: number }
  | {
      readonly type: 'settled';
      readonly id: number;
      readonly kind: string;
      readonly outcome: TaskOutcome;
      readonly waitMs: number;
      /** Absent when the task never reached a worker. */
      readonly runMs?: number;
    }
  | { readonly type: 'workerExit'; readonly reason: WorkerExitReason }
  /** A thread (first or replacement) is ready for tasks. */
  | { readonly type: 'workerReady'; readonly threadId: number };

export interface PoolStats {
  /** Worker threads alive now (briefly fewer than configured while one is replaced). */
  readonly threads: number;
  readonly configuredThreads: number;
  /** Tasks handed to a worker and not yet settled. */
  readonly running: number;
  /** Tasks waiting for a worker. */
  readonly queued: number;
  readonly maxQueue: number;
}

export interface WorkerPoolOptions<R extends TaskRegistry> {
  /** The task kinds this pool runs. */
  readonly tasks: R;
  /** Worker threads, all started at once and kept. */
  readonly threads: number;
  /** Tasks allowed to wait for a free worker; the next one is refused with SERVER_BUSY. 0 = none wait. */
  readonly maxQueue: number;
  /** Time limit of a task from the moment it is deferred (queue time counts), ms. */
  readonly timeoutMs: number;
  /** Per-kind overrides of `timeoutMs`. */
  readonly timeouts?: Readonly<Record<string, number>>;
  /** V8 old-generation heap limit of each worker (`resourceLimits.maxOldGenerationSizeMb`). */
  readonly maxOldGenerationMb: number;
  /** Replace a worker after it has run this many tasks; 0 = never. */
  readonly recycleAfterTasks: number;
  /**
   * Added to each worker thread's nice value (0 = same priority as the event loop). On a
   * machine with as many busy threads as cores, the event loop then still gets the CPU it
   * needs for light requests. Linux applies nice per thread; elsewhere it may be ignored.
   */
  readonly niceIncrement?: number;
  readonly logger: Logger;
}

export interface DeferOptions<O> {
  /** Overrides the kind's time limit, ms. Time spent waiting in the queue counts. */
  readonly timeoutMs?: number;
  /** Aborting removes the task from the queue or stops the worker running it (CANCELLED). */
  readonly signal?: AbortSignal;
  /** On timeout, resolve with this fallback instead of rejecting with TIMEOUT. */
  readonly onTimeout?: () => O;
}

export interface WorkerPool<R extends TaskRegistry = TaskRegistry> {
  /**
   * Runs `task` on a worker thread. Resolves with the task's result; rejects with a
   * StrongroomError coded TIMEOUT, SERVER_BUSY (with `retryAfter`), CANCELLED or
   * INTERNAL_SERVER_ERROR (the worker threw or died). A refusal is immediate.
   */
  defer<K extends keyof R & string>(
    task: { readonly kind: K; readonly input: TaskInput<R[K]> },
    options?: DeferOptions<TaskOutput<R[K]>>,
  ): Promise<TaskOutput<R[K]>>;
  stats(): PoolStats;
  /** Seconds a refused client should wait: the queue ahead divided among the threads, at the recent run time. */
  retryAfterSeconds(): number;
  /** Thread ids of the live workers. */
  threadIds(): number[];
  /** Subscribes to task and worker events; returns the unsubscribe function. */
  observe(listener: (event: PoolEvent) => void): () => void;
  /** Cancels queued and running tasks (CANCELLED), refuses new ones and stops every thread. */
  close(): Promise<void>;
}

type JobState =
  | { readonly phase: 'queued' }
  | { readonly phase: 'running'; readonly startedAt: number; readonly abort: AbortController }
  | { readonly phase: 'settled' };

interface Job {
  readonly id: number;
  readonly kind: string;
  readonly input: unknown;
  readonly file: string;
  readonly enqueuedAt: number;
  readonly timeoutMs: number;
  readonly onTimeout: (() => unknown) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  state: JobState;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

/** What our balancer reads of Piscina's view of a thread. */
interface ThreadView {
  readonly id: number;
  readonly currentUsage: number;
  readonly terminating: boolean;
  readonly destroyed: boolean;
}

const SHUTTING_DOWN = 'The server is shutting down.';
const CLIENT_GONE = 'The request was cancelled: the client went away.';

/** Errors that mean the thread died rather than the task throwing. */
function workerDied(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return (typeof code === 'string' && code.startsWith('ERR_WORKER_')) || /^worker exited with code|Terminating worker thread/.test(message);
}

/**
 * Worker threads load their task files (TypeScript) through tsx. The server runs with only
 * tsx's ESM hook (`--import tsx/esm`: its CommonJS hook sits in front of every `require()`,
 * and Apollo requires `crypto` on every request); Piscina loads a task file with `require()`
 * first, and on Node 20 its `import()` fallback does not see an ESM hook registered by the
 * worker's own `--import`. So a worker gets the whole of tsx, whatever the main thread has.
 * Returns undefined when nothing needs changing: workers then inherit the process's flags as
 * Node filters them (an explicit list is checked strictly, and `node --test` on Node 24 adds
 * flags a worker may not take).
 */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  const full = execArgv.map((arg) => (arg === 'tsx/esm' ? 'tsx' : arg === '--import=tsx/esm' ? '--import=tsx' : arg));
  return full.some((arg, i) => arg !== execArgv[i]) ? full : undefined;
}

export function createWorkerPool<R extends TaskRegistry>(options: WorkerPoolOptions<R>): WorkerPool<R> {
  const { tasks, threads, maxQueue, logger, recycleAfterTasks } = options;
  if (!Number.isInteger(threads) || threads < 1) throw new TypeError('threads must be a positive integer');
  for (const kind of Object.keys(options.timeouts ?? {})) {
    if (!(kind in tasks)) throw new TypeError(`timeout given for unknown task kind "${kind}"`);
  }

  const listeners = new Set<(event: PoolEvent) => void>();
  const emit = (event: PoolEvent) => {
    for (const listener of listeners) listener(event);
  };
  const queue = new Set<Job>(); // insertion-ordered: FIFO with O(1) removal on abort
  const active = new Set<Job>();
  let nextId = 1;
  let closing: Promise<void> | undefined;
  /** Exponentially weighted mean run time of successful tasks, for Retry-After. */
  let meanRunMs = 1000;

  // Recycling: the balancer counts tasks per thread and stops choosing a thread once it
  // has served its share; retireIdle() terminates it when its last task is done.
  const served = new Map<number, number>();
  const retiring = new Map<number, ThreadView>();
  /** Terminated by us; Piscina keeps offering them until their exit event arrives. */
  const retired = new Set<number>();

  const piscina = new Piscina({
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    // 'async' keeps a worker's event loop turning between tasks, so tasks that await I/O behave.
    atomics: 'async',
    resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationMb },
    niceIncrement: options.niceIncrement ?? 0,
    execArgv: workerExecArgv(process.execArgv),
    loadBalancer(_task, workers) {
      for (const worker of workers) {
        if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed || retiring.has(worker.id) || retired.has(worker.id)) continue;
        const count = (served.get(worker.id) ?? 0) + 1;
        served.set(worker.id, count);
        if (recycleAfterTasks > 0 && count >= recycleAfterTasks) retiring.set(worker.id, worker);
        return worker;
      }
      return null;
    },
  });
  // A worker that dies with no task on it is reported here; without a listener it would crash the process.
  piscina.on('error', (error: unknown) => logger.error({ ...describeForLog(error) }, 'worker thread failed'));
  piscina.on('workerCreate', (worker: ThreadView) => emit({ type: 'workerReady', threadId: worker.id }));

  function retireIdle(): void {
    for (const [id, worker] of retiring) {
      if (worker.destroyed || worker.terminating) {
        retiring.delete(id);
        continue;
      }
      if (worker.currentUsage > 0) continue;
      retiring.delete(id);
      const thread = piscina.threads.find((t) => t.threadId === id);
      if (thread) {
        retired.add(id);
        void thread.terminate();
        logger.debug({ threadId: id, tasks: served.get(id) }, 'worker recycled');
        emit({ type: 'workerExit', reason: 'recycled' });
      }
    }
    if (served.size > threads * 4 || retired.size > threads * 4) {
      const live = new Set(piscina.threads.map((t) => t.threadId));
      for (const id of served.keys()) if (!live.has(id)) served.delete(id);
      for (const id of retired) if (!live.has(id)) retired.delete(id);
    }
  }

  function pump(): void {
    while (active.size - queue.size < threads && queue.size > 0) {
      const job = queue.values().next().value as Job;
      queue.delete(job);
      start(job);
    }
  }

  function start(job: Job): void {
    const startedAt = performance.now();
    const abort = new AbortController();
    job.state = { phase: 'running', startedAt, abort };
    emit({ type: 'started', id: job.id, kind: job.kind, waitMs: startedAt - job.enqueuedAt });
    piscina.run(job.input, { filename: job.file, signal: abort.signal }).then(
      (value: unknown) => settle(job, 'ok', value),
      (error: unknown) => settle(job, 'failed', error),
    );
  }

  function settle(job: Job, outcome: Exclude<TaskOutcome, 'busy'>, payload?: unknown): void {
    const previous = job.state;
    if (previous.phase === 'settled') return; // e.g. Piscina's AbortError after we stopped the task
    job.state = { phase: 'settled' };
    clearTimeout(job.timer);
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    queue.delete(job);
    active.delete(job);
    const now = performance.now();
    let runMs: number | undefined;
    if (previous.phase === 'running') {
      runMs = now - previous.startedAt;
      if (outcome === 'timeout' || outcome === 'cancelled') {
        // Piscina terminates the thread running it (and starts a replacement) at once, or,
        // if no thread had taken it yet, drops it from its own queue.
        const before = pool.threadIds();
        previous.abort.abort();
        const after = new Set(pool.threadIds());
        if (before.some((id) => !after.has(id))) emit({ type: 'workerExit', reason: 'stopped' });
      }
    }
    const waitMs = (previous.phase === 'running' ? previous.startedAt : now) - job.enqueuedAt;
    if (outcome === 'ok' && runMs !== undefined) meanRunMs = meanRunMs * 0.8 + runMs * 0.2;
    emit({ type: 'settled', id: job.id, kind: job.kind, outcome, waitMs, ...(runMs === undefined ? {} : { runMs }) });

    switch (outcome) {
      case 'ok':
        job.resolve(payload);
        break;
      case 'timeout':
        if (job.onTimeout) {
          try {
            job.resolve(job.onTimeout());
          } catch (error) {
            job.reject(error as Error);
          }
        } else job.reject(new TimeoutError(job.timeoutMs));
        break;
      case 'cancelled':
        job.reject(new CancelledError(typeof payload === 'string' ? payload : CLIENT_GONE));
        break;
      case 'failed': {
        const died = workerDied(payload);
        if (died) emit({ type: 'workerExit', reason: 'crashed' });
        const correlationId = randomUUID();
        logger.error({ correlationId, kind: job.kind, workerDied: died, ...describeForLog(payload) }, 'worker task failed');
        job.reject(
          new StrongroomError('INTERNAL_SERVER_ERROR', 'Something went wrong on our side. Quote the correlation id if you report it.', { correlationId }),
        );
        break;
      }
      default: {
        const unreachable: never = outcome;
        throw new TypeError(`unhandled outcome ${String(unreachable)}`);
      }
    }
    retireIdle();
    pump();
  }

  const pool: WorkerPool<R> = {
    defer(task, deferOptions = {}) {
      const definition = tasks[task.kind];
      if (!definition) return Promise.reject(new TypeError(`unknown task kind "${task.kind}"`));
      const { signal } = deferOptions;
      const timeoutMs = deferOptions.timeoutMs ?? options.timeouts?.[task.kind] ?? options.timeoutMs;
      const id = nextId++;
      const refuse = (outcome: 'busy' | 'cancelled', error: Error) => {
        emit({ type: 'settled', id, kind: task.kind, outcome, waitMs: 0 });
        return Promise.reject(error);
      };
      if (closing) return refuse('cancelled', new CancelledError(SHUTTING_DOWN));
      if (signal?.aborted) return refuse('cancelled', new CancelledError(CLIENT_GONE));
      const running = active.size - queue.size;
      const free = running < threads && queue.size === 0;
      if (!free && queue.size >= maxQueue) return refuse('busy', new ServerBusyError(pool.retryAfterSeconds()));

      return new Promise((resolve, reject) => {
        const job: Job = {
          id,
          kind: task.kind,
          input: task.input,
          file: definition.file,
          enqueuedAt: performance.now(),
          timeoutMs,
          onTimeout: deferOptions.onTimeout,
          signal,
          resolve: resolve as (value: unknown) => void,
          reject,
          state: { phase: 'queued' },
        };
        active.add(job);
        job.timer = setTimeout(() => settle(job, 'timeout'), timeoutMs);
        if (signal) {
          job.onAbort = () => settle(job, 'cancelled', CLIENT_GONE);
          signal.addEventListener('abort', job.onAbort, { once: true });
        }
        if (free) start(job);
        else {
          queue.add(job);
          emit({ type: 'queued', id, kind: task.kind });
        }
      });
    },

    stats() {
      return {
        threads: piscina.threads.length,
        configuredThreads: threads,
        running: active.size - queue.size,
        queued: queue.size,
        maxQueue,
      };
    },

    retryAfterSeconds() {
      return Math.max(1, Math.ceil((meanRunMs * (queue.size / threads + 1)) / 1000));
    },

    threadIds() {
      return piscina.threads.map((t) => t.threadId);
    },

    observe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close() {
      closing ??= (async () => {
        for (const job of [...active]) settle(job, 'cancelled', SHUTTING_DOWN);
        await piscina.destroy();
      })();
      return closing;
    },
  };
  return pool;
}
