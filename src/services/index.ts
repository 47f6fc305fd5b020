/** All services, built once per process from long-lived resources. Resolvers reach them through the context. */
import type { Config } from '../config.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Databases } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import path from 'node:path';
import type { WorkerPool } from '../workers/pool.ts';
import type { TASKS } from '../workers/tasks.ts';
import { createMailTransport, type MailTransport } from '../mail/transport.ts';
import { createAuthService, type AuthService } from './auth/index.ts';
import { createKeysService, type KeysService } from './keys.ts';
import { createSelfTestService, type SelfTestService } from './self-test.ts';
import { createSystemService, type SystemService } from './system.ts';
import { createLicenceService, type LicenceService } from './licences.ts';
import type { Renderer } from '../reports/renderer.ts';
import { createReportsService, type ReportsService } from './reports/index.ts';
import { createStatisticsService, type StatisticsService } from './statistics/index.ts';

/** The services that need only the databases: what CLIs, fixtures and builders write through. */
export interface StoreServices {
  readonly system: SystemService;
  readonly licences: LicenceService;
  readonly auth: AuthService;
  readonly mail: MailTransport;
  /** Key management over the keyring (`npm run keys`). */
  readonly keys: KeysService;
  /** Closes what the services opened themselves (Redis, SMTP pools). */
  close(): Promise<void>;
}

/** Every service, including those that defer heavy work to the worker pool. */
export interface Services extends StoreServices {
  readonly selfTest: SelfTestService;
  readonly reports: ReportsService;
  /** Weekly statistics and the licence summary (dashboards, reports). */
  readonly statistics: StatisticsService;
}

export interface StoreServiceDeps {
  readonly config: Config;
  readonly databases: Databases;
  /**
   * The open keyring: services seal and open secret columns through it as a
   * `FieldCipher` (src/crypto/field-cipher.ts) and never see a key. Opened (`openKeyring`) and closed by the caller.
   */
  readonly keyring: Keyring;
  readonly logger: Logger;
  /** The clock; tests pass a frozen one. Default: the system clock. */
  readonly now?: () => Date;
}

export interface ServiceDeps extends StoreServiceDeps {
  /** The worker pool every heavy path defers to. */
  readonly pool: WorkerPool<typeof TASKS>;
  /** This process's PDF renderer; given one, the reports service runs the render loop (started by `reports.start()`). */
  readonly renderer?: Renderer;
}

/** Services for a process without a worker pool (db:reset, db:seed, test builders). */
export function createStoreServices(deps: StoreServiceDeps): StoreServices {
  const { config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const mail = createMailTransport({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    outboxDir: path.join(config.dataDir, 'outbox'),
    timeoutMs: config.smtpTimeoutMs,
  });
  const auth = createAuthService({ config, db: deps.databases.auth.db, logger: logger.child({ component: 'auth' }), mail, now });
  const licences = createLicenceService({
    database: deps.databases.data,
    cipher: deps.keyring,
    keys: auth.keys,
    limits: auth.limits,
    logger: logger.child({ component: 'licences' }),
    now,
    settings: {
      pageMax: config.licencesPageMax,
      batchWindowMs: config.validateBatchWindowMs,
      batchMax: config.validateBatchMax,
      batchConcurrency: config.validateBatchConcurrency,
      sourceMaxLength: config.validateSourceMaxLength,
      nonceMaxLength: config.validateNonceMaxLength,
      issuer: config.jwtIssuer,
    },
  });
  return {
    system: createSystemService(deps.databases, { healthCacheMs: config.healthCacheMs }),
    licences,
    auth,
    mail,
    keys: createKeysService({ databases: deps.databases, keyring: deps.keyring, refreshSeconds: config.keyringRefreshSeconds, now }),
    async close() {
      await licences.close(); // validations under way finish before the databases close
      mail.close();
      await auth.close();
    },
  };
}

export function createServices(deps: ServiceDeps): Services {
  const { config } = deps;
  const store = createStoreServices(deps);
  const now = deps.now ?? (() => new Date());
  const statistics = createStatisticsService({
    data: deps.databases.data,
    pool: deps.pool,
    maxRangeDays: config.statisticsMaxRangeDays,
    maxFilterValues: config.statisticsMaxFilterValues,
    expiringLimit: config.licenceSummaryExpiringLimit,
    maxConcurrent: config.statisticsMaxConcurrent,
    maxWaiting: config.statisticsMaxWaiting,
    queryTimeoutMs: config.workerTaskTimeouts.weeklyStatistics ?? config.workerTaskTimeoutMs,
    now,
  });
  const reports = createReportsService({
    config,
    database: deps.databases.data,
    pool: deps.pool,
    keys: store.auth.keys,
    statistics,
    renderer: deps.renderer,
    logger: deps.logger,
    now,
  });
  return {
    ...store,
    selfTest: createSelfTestService(deps.pool, config.selfTestMaxIterations),
    statistics,
    reports,
    async close() {
      await reports.close(); // hands running reports back before the databases close
      await store.close();
    },
  };
}
