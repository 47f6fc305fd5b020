/**
 * `npm run worker`: a render-only process. No HTTP: it claims queued reports from the data
 * database, renders them (worker pool + its own Chromium) and stores the files, so reports
 * can be rendered on other machines than the API's. It needs `DATABASE_URL` (the embedded
 * database belongs to the one process that opened it) and a migrated database (the API
 * migrates). SIGTERM/SIGINT hand running reports back to the queue and exit 0.
 */
import path from 'node:path';
import { loadConfig } from './config.ts';
import { DatabaseUnavailableError, openDatabases, type Databases } from './db/client.ts';
import { migrationStatus } from './db/migrate.ts';
import { openKeyring, type Keyring } from './crypto/keyring.ts';
import { describeForLog } from './errors.ts';
import { createLogger, logDestination } from './logger.ts';
import { rendererOptions } from './reports/index.ts';
import { createRenderer, type Renderer } from './reports/renderer.ts';
import { createServices, type Services } from './services/index.ts';
import { openWorkerPool } from './workers/index.ts';
import type { WorkerPool } from './workers/pool.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel, logDestination({ bufferBytes: config.logBufferBytes, flushMs: config.logFlushMs })).child({
  process: 'render-worker',
});

async function start(): Promise<void> {
  let databases: Databases | undefined;
  let pool: WorkerPool | undefined;
  let keyring: Keyring | undefined;
  let renderer: Renderer | undefined;
  let services: Services | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await services?.close(); // hands running reports back to the queue
      await renderer?.close();
      await pool?.close();
      keyring?.close();
      await databases?.close();
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    } catch (err) {
      logger.error(describeForLog(err), 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  try {
    if (!config.databaseUrl) {
      throw new Error('npm run worker needs DATABASE_URL: it renders the reports queued in a PostgreSQL database that the API processes share.');
    }
    databases = await openDatabases({
      databaseUrl: config.databaseUrl,
      authDatabaseUrl: config.authDatabaseUrl,
      embeddedDir: path.join(config.dataDir, 'db'),
      poolMax: config.dbPoolMax,
    });
    for (const database of [databases.data, databases.auth]) {
      const status = await migrationStatus(database);
      if (status.pending.length > 0) throw new Error(`The ${database.name} database is missing migrations; start the API (or npm run db:migrate) first.`);
    }
    // A worker started before any API process creates the first keys as the API would (one set, under the keyring's lock).
    keyring = await openKeyring({ database: databases.auth, config, logger });
    pool = openWorkerPool(config, logger);
    renderer = createRenderer(rendererOptions(config, logger));
    services = createServices({ config, databases, keyring, logger, pool, renderer });
    services.reports.start();
    logger.info({ owner: services.reports.runner?.owner, concurrency: config.reportConcurrency }, 'Strongroom render worker is ready');
  } catch (err) {
    const message = err instanceof DatabaseUnavailableError || err instanceof Error ? err.message : String(err);
    logger.fatal(describeForLog(err), 'start failed');
    process.stderr.write(`Render worker start failed: ${message}\n`);
    await services?.close().catch(() => {});
    await renderer?.close().catch(() => {});
    await pool?.close().catch(() => {});
    keyring?.close();
    await databases?.close().catch(() => {});
    logger.flush();
    process.exit(1);
  }
}

void start();
