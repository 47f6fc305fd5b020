/** `systemSelfTest`: a known amount of hashing on the worker pool, with its limits checked first. */
import { BadUserInputError } from '../errors.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { TASKS } from '../workers/tasks.ts';
import type { SelfTestOutput } from '../workers/tasks/self-test.ts';

export interface SelfTestService {
  /** Hashes `iterations` rounds on a worker; rejects with the pool's coded errors, or BAD_USER_INPUT for a bad count. */
  run(iterations: number, signal: AbortSignal): Promise<SelfTestOutput>;
}

export function createSelfTestService(pool: WorkerPool<typeof TASKS>, maxIterations: number): SelfTestService {
  return {
    run(iterations, signal) {
      if (!Number.isInteger(iterations) || iterations < 1 || iterations > maxIterations) {
        return Promise.reject(new BadUserInputError(`iterations must be between 1 and ${maxIterations}.`, 'iterations'));
      }
      return pool.defer({ kind: 'selfTest', input: { iterations } }, { signal });
    },
  };
}
