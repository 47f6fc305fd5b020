/**
 * The render loop: claims queued report jobs (any process may run one against the same
 * database), renders them with produce.ts and records the outcome.
 *
 * - At most `concurrency` jobs at once; the others stay QUEUED for whichever process has a
 *   free slot first (`FOR UPDATE SKIP LOCKED`).
 * - A claimed job is leased; the lease is renewed every third of its length while the job
 *   renders. When a renewal finds the job no longer ours (cancelled, or reclaimed after a
 *   stall) the attempt is abandoned and nothing is written.
 * - Each pass first hands back jobs whose lease ran out (their process died): QUEUED while
 *   attempts remain, else FAILED. So after a crash or restart nothing stays RUNNING longer
 *   than one lease.
 * - Each pass also deletes a bounded batch of reports past their retention.
 * - An idle loop looks again every `pollMs`; a job requested in this process wakes it at once.
 * - On close, running attempts are stopped and their jobs handed back, uncounted.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describeForLog, StrongroomError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { systemCaller } from '../auth/caller.ts';
import { RendererCrashedError, RendererUnavailableError, RenderTimeoutError } from '../../reports/renderer.ts';
import type { ReportFormat } from '../../reports/types.ts';
import type { JobError, JobRow } from './job-state.ts';
import { storedParameters } from './parameters.ts';
import { NoRendererError, type ProducedReport, type ProduceJob } from './produce.ts';
import type { JobStore } from './store.ts';

export interface RunnerOptions {
  readonly concurrency: number;
  readonly leaseSeconds: number;
  readonly pollMs: number;
  readonly attemptTimeoutMs: number;
  readonly retentionHours: number;
  readonly sweepBatch: number;
}

export interface RunnerDeps {
  readonly store: JobStore;
  readonly produce: (job: ProduceJob) => Promise<ProducedReport>;
  readonly logger: Logger;
  /** Called whenever a job this process ran has finished (or was handed back). */
  readonly onSettled: (id: string) => void;
}

export interface ReportRunner {
  /** This process's lease owner name (host, pid, random). */
  readonly owner: string;
  start(): void;
  /** Look for work now (a job was just queued). */
  wake(): void;
  /** Jobs rendering now. */
  running(): number;
  /** Stops claiming, stops running attempts and hands their jobs back; resolves when done. */
  close(): Promise<void>;
}

class AttemptTimeout extends Error {}

const timedOut = (error: unknown) =>
  error instanceof AttemptTimeout || error instanceof RenderTimeoutError || (error instanceof StrongroomError && error.code === 'TIMEOUT');

export function createReportRunner(deps: RunnerDeps, options: RunnerOptions): ReportRunner {
  const { store, logger } = deps;
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const active = new Map<string, AbortController>();
  let timer: NodeJS.Timeout | undefined;
  let passing: Promise<void> | undefined;
  let again = false;
  let started = false;
  let closing = false;
  let lastSweep = Number.NEGATIVE_INFINITY;

  async function pass(): Promise<void> {
    const reclaimed = await store.reclaimExpired();
    if (reclaimed.requeued + reclaimed.failed > 0) logger.warn(reclaimed, 'reports whose render process stopped were handed back');
    if (performance.now() - lastSweep > 60_000) {
      lastSweep = performance.now();
      const deleted = await store.sweep(options.retentionHours, options.sweepBatch);
      if (deleted > 0) logger.info({ deleted }, 'expired reports deleted');
    }
    while (!closing && active.size < options.concurrency) {
      const job = await store.claim(owner, options.leaseSeconds);
      if (!job) break;
      void run(job);
    }
  }

  function schedule(delayMs: number): void {
    if (closing) return;
    clearTimeout(timer);
    timer = setTimeout(() => void loop(), delayMs);
  }

  async function loop(): Promise<void> {
    if (closing) return;
    if (passing) {
      again = true;
      return;
    }
    passing = pass()
      .catch((error: unknown) => logger.error(describeForLog(error), 'report loop pass failed'))
      .finally(() => {
        passing = undefined;
      });
    await passing;
    if (again) {
      again = false;
      schedule(0);
    } else schedule(options.pollMs);
  }

  async function settle(job: JobRow, error: unknown, abort: AbortController): Promise<void> {
    if (abort.signal.aborted && !closing) {
      logger.info({ reportId: job.id }, 'report attempt abandoned: the job is no longer ours (cancelled or reclaimed)');
      return;
    }
    if (closing) {
      await store.requeue(job.id, owner, false);
      return;
    }
    const fail = (status: 'FAILED' | 'TIMED_OUT', jobError: JobError) => store.fail(job.id, owner, status, jobError);
    if (timedOut(error)) {
      await fail('TIMED_OUT', { code: 'TIMEOUT', message: `The report did not finish within ${options.attemptTimeoutMs} ms.` });
    } else if (error instanceof RendererUnavailableError || error instanceof NoRendererError) {
      await fail('FAILED', { code: 'RENDERER_UNAVAILABLE', message: 'PDF reports cannot be rendered: Chromium is not available on the render process.' });
    } else if (error instanceof StrongroomError && error.code === 'SERVER_BUSY') {
      await store.requeue(job.id, owner, false); // the worker pool was full: try again later, uncounted
    } else if (error instanceof StrongroomError && ['BAD_USER_INPUT', 'FORBIDDEN', 'UNAUTHENTICATED'].includes(error.code)) {
      await fail('FAILED', { code: error.code, message: error.message });
    } else {
      const crashed = error instanceof RendererCrashedError;
      logger.error({ reportId: job.id, attempt: job.attempts, crashed, ...describeForLog(error) }, 'report attempt failed');
      if (job.attempts < job.maxAttempts) await store.requeue(job.id, owner, true);
      else
        await fail('FAILED', {
          code: 'RENDER_FAILED',
          message: crashed ? 'Chromium went away while rendering, on every attempt.' : 'The report failed to render, on every attempt.',
        });
    }
  }

  async function run(job: JobRow): Promise<void> {
    const abort = new AbortController();
    active.set(job.id, abort);
    const renew = setInterval(
      () =>
        void store.renew(job.id, owner, options.leaseSeconds).then(
          (ours) => ours || abort.abort(),
          (error: unknown) => logger.warn(describeForLog(error), 'report lease renewal failed'),
        ),
      (options.leaseSeconds * 1000) / 3,
    );
    let deadlineTimer: NodeJS.Timeout | undefined;
    try {
      const deadline = performance.now() + options.attemptTimeoutMs;
      const overrun = new Promise<never>((_, reject) => {
        deadlineTimer = setTimeout(() => reject(new AttemptTimeout()), options.attemptTimeoutMs);
      });
      const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(new Error('abandoned')), { once: true }));
      const producing = deps.produce({
        // The owner's role was checked when the report was requested; the job itself acts for the system.
        caller: systemCaller(`report job ${job.id}`),
        format: job.format as ReportFormat,
        parameters: storedParameters(job.parameters),
        deadline,
        signal: abort.signal,
        progress: async (percent) => {
          if (!(await store.progress(job.id, owner, percent))) abort.abort();
        },
      });
      producing.catch(() => {});
      const output = await Promise.race([producing, overrun, aborted]);
      if (!(await store.succeed(job.id, owner, output))) logger.info({ reportId: job.id }, 'report finished after it stopped being ours; discarded');
    } catch (error) {
      await settle(job, error, abort).catch((e: unknown) => logger.error(describeForLog(e), 'recording a report outcome failed'));
    } finally {
      clearInterval(renew);
      clearTimeout(deadlineTimer);
      active.delete(job.id);
      deps.onSettled(job.id);
      if (!closing) void loop();
    }
  }

  return {
    owner,
    start() {
      if (started) return;
      started = true;
      logger.info({ owner, concurrency: options.concurrency }, 'report render loop started');
      schedule(0);
    },
    wake() {
      if (started && !closing) void loop();
    },
    running: () => active.size,
    async close() {
      closing = true;
      clearTimeout(timer);
      await passing;
      const waiting = [...active.keys()].map(
        (id) =>
          new Promise<void>((resolve) => {
            const check = setInterval(() => {
              if (!active.has(id)) {
                clearInterval(check);
                resolve();
              }
            }, 10);
          }),
      );
      for (const abort of active.values()) abort.abort();
      await Promise.all(waiting);
    },
  };
}
