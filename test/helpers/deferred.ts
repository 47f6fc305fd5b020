/**
 * Async test helpers for deferred work: the analogue of Spring MockMvc's `asyncStarted()`
 * then `asyncDispatch()`. A test starts a request (or calls a service), sees with
 * `asyncStarted()` that a deferred task is queued or running on the pool while its promise
 * is still pending, acts (disconnects, fills the queue, …), then awaits the task's outcome
 * with `asyncDispatch()`. Everything is read from the pool's own events: no mocks.
 */
import type { PoolEvent, WorkerPool } from '../../src/workers/pool.ts';

export type Settled = Extract<PoolEvent, { type: 'settled' }>;
export type Phase = 'queued' | 'running' | 'settled';

export interface DeferredTask {
  readonly id: number;
  readonly kind: string;
  /** Where the task is now. */
  readonly phase: Phase;
  /** Ids of pool events seen for this task, in order: e.g. ['queued', 'started', 'settled']. */
  readonly history: readonly PoolEvent['type'][];
}

export interface StartedFilter {
  readonly kind?: string;
  /** Only a task in this phase (default: queued or running). */
  readonly phase?: 'queued' | 'running';
}

export interface DeferredWatch {
  /** Resolves with the next task (not returned before) that has started, matching `filter`, whose promise is still pending. */
  asyncStarted(filter?: StartedFilter, timeoutMs?: number): Promise<DeferredTask>;
  /** Resolves with the task's settled event (outcome, wait and run times) once its promise has settled. */
  asyncDispatch(task: DeferredTask, timeoutMs?: number): Promise<Settled>;
  /** Every settled event seen so far, including refusals (`busy`) that never started. */
  settled(): readonly Settled[];
  /** Resolves once `count` threads have become ready since the watch began (replacements included). */
  workersReady(count: number, timeoutMs?: number): Promise<void>;
  /** Worker exits seen so far, by reason. */
  workerExits(): Readonly<Record<'recycled' | 'stopped' | 'crashed', number>>;
  stop(): void;
}

interface Tracked {
  id: number;
  kind: string;
  phase: Phase;
  history: PoolEvent['type'][];
  settled?: Settled;
}

function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts recording `pool`'s task events. Call before the request that defers work. */
// biome-ignore lint/suspicious/noExplicitAny: watches a pool of any task registry
export function watchDeferred(pool: WorkerPool<any>): DeferredWatch {
  const tasks = new Map<number, Tracked>();
  const settled: Settled[] = [];
  const exits = { recycled: 0, stopped: 0, crashed: 0 };
  let ready = 0;
  const claimed = new Set<number>();
  let wake: (() => void)[] = [];
  const changed = () => {
    const waiting = wake;
    wake = [];
    for (const w of waiting) w();
  };
  const nextChange = () => new Promise<void>((resolve) => wake.push(resolve));

  const stop = pool.observe((event) => {
    if (event.type === 'workerExit') {
      exits[event.reason]++;
    } else if (event.type === 'workerReady') {
      ready++;
    } else {
      const task = tasks.get(event.id) ?? { id: event.id, kind: event.kind, phase: 'queued' as Phase, history: [] };
      tasks.set(event.id, task);
      task.history.push(event.type);
      task.phase = event.type === 'queued' ? 'queued' : event.type === 'started' ? 'running' : 'settled';
      if (event.type === 'settled') {
        task.settled = event;
        settled.push(event);
      }
    }
    changed();
  });

  const view = (task: Tracked): DeferredTask => ({
    id: task.id,
    kind: task.kind,
    get phase() {
      return task.phase;
    },
    get history() {
      return [...task.history];
    },
  });

  return {
    asyncStarted(filter = {}, timeoutMs = 10_000) {
      const find = () =>
        [...tasks.values()].find(
          (t) =>
            !claimed.has(t.id) &&
            (filter.kind === undefined || t.kind === filter.kind) &&
            (filter.phase === undefined ? t.phase === 'queued' || t.phase === 'running' : t.phase === filter.phase),
        );
      const wait = async (): Promise<DeferredTask> => {
        for (;;) {
          const found = find();
          if (found) {
            claimed.add(found.id);
            return view(found);
          }
          await nextChange();
        }
      };
      return within(wait(), timeoutMs, `a ${filter.phase ?? 'started'} ${filter.kind ?? ''} task`.replace(/ +/g, ' '));
    },
    asyncDispatch(task, timeoutMs = 30_000) {
      const wait = async (): Promise<Settled> => {
        for (;;) {
          const tracked = tasks.get(task.id);
          if (tracked?.settled) return tracked.settled;
          await nextChange();
        }
      };
      return within(wait(), timeoutMs, `completion of task ${task.id} (${task.kind})`);
    },
    workersReady(count, timeoutMs = 30_000) {
      const wait = async () => {
        while (ready < count) await nextChange();
      };
      return within(wait(), timeoutMs, `${count} worker thread(s) becoming ready`);
    },
    settled: () => [...settled],
    workerExits: () => ({ ...exits }),
    stop() {
      stop();
    },
  };
}
