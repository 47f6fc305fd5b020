/**
 * Process entry: read config, open the databases, migrate, serve, and shut down cleanly
 * on SIGTERM/SIGINT (exit 0). Everything long-lived is created here and closed here.
 */
import path from 'node:path';
import { loadConfig, START_REQUIREMENTS } from './config.ts';
import { DatabaseUnavailableError, openDatabases, type Databases } from './db/client.ts';
import { DataDirInUseError } from './db/embedded.ts';
import { migrateDatabase, migrationStatus } from './db/migrate.ts';
import { openKeyring, type Keyring } from './crypto/keyring.ts';
import { describeForLog, KeyringUnavailableError } from './errors.ts';
import { makeDataDirPrivate, usePrivateUmask } from './fs/private.ts';
import { createLogger, logDestination } from './logger.ts';
import { createRenderer, type Renderer } from './reports/renderer.ts';
import { createServer, type StrongroomServer } from './server.ts';
import { openWorkerPool } from './workers/index.ts';
import { rendererOptions } from './reports/index.ts';
import type { WorkerPool } from './workers/pool.ts';

// Before anything is created: what this process (and PGlite in it) makes is private to its user.
usePrivateUmask();
const config = loadConfig({}, START_REQUIREMENTS);
const logger = createLogger(config.logLevel, logDestination({ bufferBytes: config.logBufferBytes, flushMs: config.logFlushMs }));

async function prepareDatabases(databases: Databases): Promise<void> {
  for (const database of [databases.data, databases.auth]) {
    if (config.migrateOnStart) {
      const applied = await migrateDatabase(database);
      logger.info({ database: database.name, applied }, applied.length ? 'migrations applied' : 'database up to date');
    } else {
      const status = await migrationStatus(database);
      if (status.pending.length > 0) {
        throw new Error(
          `The ${database.name} database is missing migrations ${status.pending.map((m) => m.tag).join(', ')}; run npm run db:migrate or set MIGRATE_ON_START=true.`,
        );
      }
    }
  }
}

/** The first admin, when there is none (README "Sign-in"). A generated password is printed once, never logged. */
async function bootstrapAdmin(server: StrongroomServer): Promise<void> {
  const result = await server.services.auth.bootstrapAdmin();
  switch (result.outcome) {
    case 'exists':
      return;
    case 'not-configured':
      logger.warn('there is no admin: set ADMIN_EMAIL and ADMIN_PASSWORD and restart to create one');
      return;
    case 'created':
      logger.info({ email: result.user.email }, 'admin created');
      if (result.generatedPassword) {
        process.stderr.write(
          `\nCreated the admin ${result.user.email} with the password ${result.generatedPassword}\n` +
            'It is shown only this once. Sign in and create your own admin, or set ADMIN_EMAIL and ADMIN_PASSWORD on a fresh database.\n\n',
        );
      }
      return;
  }
}

async function start(): Promise<void> {
  const startedAt = performance.now();
  let databases: Databases | undefined;
  let server: StrongroomServer | undefined;
  let pool: WorkerPool | undefined;
  let keyring: Keyring | undefined;
  let renderer: Renderer | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await server?.close(); // also stops the render loop, handing its running reports back
      await renderer?.close();
      await pool?.close(); // after HTTP has drained: whatever still runs has no client waiting
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
    await makeDataDirPrivate(config.dataDir, logger);
    databases = await openDatabases({
      databaseUrl: config.databaseUrl,
      authDatabaseUrl: config.authDatabaseUrl,
      embeddedDir: path.join(config.dataDir, 'db'),
      poolMax: config.dbPoolMax,
    });
    if (databases.embedded) logger.info({ dataDir: databases.embedded.dataDir }, 'using the embedded database (set DATABASE_URL for PostgreSQL)');
    await prepareDatabases(databases);
    keyring = await openKeyring({ database: databases.auth, config, logger });
    logger.info({ masterKey: keyring.masterKey.source, primaryKey: keyring.primaryKeyId }, 'keyring open');
    pool = openWorkerPool(config, logger);
    if (config.reportRendering) renderer = createRenderer(rendererOptions(config, logger));
    server = await createServer({ config, logger, databases, keyring, pool, renderer });
    await bootstrapAdmin(server);
    if (config.smtpUrl) logger.info({ smtp: server.services.mail.description }, 'mail goes out over SMTP');
    else logger.info({ outbox: server.services.mail.description }, 'no SMTP_URL: mail is written as .eml files to the outbox folder');
    const url = await server.listen();
    server.services.reports.start();
    const metricsUrl = server.metricsUrl();
    logger.info(
      { url: `${url}/graphql`, ...(metricsUrl ? { metrics: `${metricsUrl}/metrics` } : {}), startupMs: Math.round(performance.now() - startedAt) },
      'Strongroom is ready',
    );
    if (process.stdout.isTTY || config.nodeEnv === 'development') {
      process.stderr.write(`\nStrongroom is listening on ${url}/graphql  (GraphiQL: open it in a browser)\n\n`);
    }
  } catch (err) {
    if (err instanceof DatabaseUnavailableError || err instanceof DataDirInUseError || err instanceof KeyringUnavailableError) {
      logger.fatal(err.message);
      process.stderr.write(`${err.message}\n`);
    } else {
      logger.fatal(describeForLog(err), 'start failed');
      process.stderr.write(`Start failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    await server?.close().catch(() => {});
    await renderer?.close().catch(() => {});
    await pool?.close().catch(() => {});
    keyring?.close();
    await databases?.close().catch(() => {});
    process.exit(1);
  }
}

void start();
