/**
 * A bounded, abortable gate: at most `slots` aggregations run in PostgreSQL at once, at most
 * `maxWaiting` wait in order behind them, and one more is refused at once with SERVER_BUSY.
 * Dashboards ask many times a minute; without a bound, a burst would put every core of the
 * database to work on reports and starve the light queries served beside them.
 */
import { CancelledError, ServerBusyError } from '../../errors.ts';

export interface Gate {
  /** Runs `job` when a slot is free; rejects with SERVER_BUSY when the line is full, CANCELLED when `signal` aborts while waiting. */
  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export function createGate(slots: number, maxWaiting: number): Gate {
  if (!Number.isInteger(slots) || slots < 1) throw new TypeError('slots must be a positive integer');
  let running = 0;
  /** Insertion-ordered: FIFO with O(1) removal when a waiter gives up. */
  const waiting = new Set<() => void>();
  /** Recent duration of a job, for Retry-After. */
  let meanMs = 100;

  const next = () => {
    const wake = waiting.values().next().value;
    if (wake) {
      waiting.delete(wake);
      wake();
    }
  };

  return {
    async run(job, signal) {
      if (signal?.aborted) throw new CancelledError('The request was cancelled: the client went away.');
      if (running >= slots) {
        if (waiting.size >= maxWaiting) throw new ServerBusyError(Math.max(1, Math.ceil((meanMs * (waiting.size / slots + 1)) / 1000)));
        await new Promise<void>((resolve, reject) => {
          const wake = () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          const onAbort = () => {
            waiting.delete(wake);
            reject(new CancelledError('The request was cancelled: the client went away.'));
          };
          waiting.add(wake);
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      }
      running++;
      const started = performance.now();
      try {
        return await job();
      } finally {
        meanMs = meanMs * 0.8 + (performance.now() - started) * 0.2;
        running--;
        next();
      }
    },
  };
}
