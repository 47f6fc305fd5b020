/** All services, built once per process from long-lived resources. Resolvers reach them through the context. */
import type { Config } from '../config.ts';
import type { Databases } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { createSystemService, type SystemService } from './system.ts';
import { createLicenceService, type LicenceService } from './licences.ts';

export interface Services {
  readonly system: SystemService;
  readonly licences: LicenceService;
}

export interface ServiceDeps {
  readonly config: Config;
  readonly databases: Databases;
  readonly logger: Logger;
}

export function createServices(deps: ServiceDeps): Services {
  return {
    system: createSystemService(deps.databases, { healthCacheMs: deps.config.healthCacheMs }),
    licences: createLicenceService(deps.databases.data),
  };
}
