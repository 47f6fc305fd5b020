/** The process's worker pool, built from configuration. Created in main.ts (and the test server), closed after HTTP drains. */
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createWorkerPool, type WorkerPool } from './pool.ts';
import { TASKS } from './tasks.ts';

export function openWorkerPool(config: Config, logger: Logger): WorkerPool<typeof TASKS> {
  return createWorkerPool({
    tasks: TASKS,
    threads: config.workerThreads,
    maxQueue: config.workerMaxQueue,
    timeoutMs: config.workerTaskTimeoutMs,
    timeouts: config.workerTaskTimeouts,
    maxOldGenerationMb: config.workerMaxOldGenerationMb,
    recycleAfterTasks: config.workerRecycleAfterTasks,
    niceIncrement: config.workerNice,
    logger: logger.child({ component: 'workers' }),
  });
}
