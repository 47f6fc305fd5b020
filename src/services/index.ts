/** All services, built once per process from long-lived resources. Resolvers reach them through the context. */
import type { Config } from '../config.ts';
import type { Databases } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { TASKS } from '../workers/tasks.ts';
import { createSelfTestService, type SelfTestService } from './self-test.ts';
import { createSystemService, type SystemService } from './system.ts';

export interface Services {
  readonly system: SystemService;
  readonly selfTest: SelfTestService;
}

export interface ServiceDeps {
  readonly config: Config;
  readonly databases: Databases;
  readonly logger: Logger;
  /** The worker pool every heavy path defers to. */
  readonly pool: WorkerPool<typeof TASKS>;
}

export function createServices(deps: ServiceDeps): Services {
  return {
    system: createSystemService(deps.databases),
    selfTest: createSelfTestService(deps.pool, deps.config.selfTestMaxIterations),
  };
}
