/**
 * Our real server for a benchmark, configured and logging as src/main.ts does in production
 * (NODE_ENV=production, JSON lines at `info` on stdout, one per operation), on 127.0.0.1 and a
 * free port, over {@link openBenchDatabases}.
 */
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger, logDestination, type Logger } from '../../src/logger.ts';
import { createServer, type StrongroomServer } from '../../src/server.ts';
import { openWorkerPool } from '../../src/workers/index.ts';
import { openBenchDatabases, type BenchDatabases } from './databases.ts';

export interface BenchServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (GraphQL at `${url}/graphql`). */
  readonly url: string;
  readonly server: StrongroomServer;
  readonly databases: BenchDatabases;
  readonly config: Config;
  readonly logger: Logger;
  close(): Promise<void>;
}

/**
 * The configuration a benchmark runs with: the environment (for `DATABASE_URL`, `DB_POOL_MAX`…)
 * with production settings forced (`NODE_ENV=production`, `LOG_LEVEL=info`, 127.0.0.1, a free
 * port), then `overrides`. Exits 78 on an invalid environment, like the server.
 */
export function benchConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...overrides });
}

/** The logger as src/main.ts builds it: stdout, buffered per LOG_BUFFER_BYTES / LOG_FLUSH_MS. */
export function benchLogger(config: Config): Logger {
  return createLogger(config.logLevel, logDestination({ bufferBytes: config.logBufferBytes, flushMs: config.logFlushMs }));
}

/** Starts createServer() over fresh benchmark databases; `close()` stops it and drops them. */
export async function startBenchServer(overrides: Record<string, string> = {}): Promise<BenchServer> {
  const config = benchConfig(overrides);
  const logger = benchLogger(config);
  const databases = await openBenchDatabases(config);
  const pool = openWorkerPool(config, logger);
  let server: StrongroomServer;
  let url: string;
  try {
    server = await createServer({ config, logger, databases, keyring: databases.keyring, pool });
    url = await server.listen();
  } catch (err) {
    await pool.close();
    await databases.close();
    throw err;
  }
  return {
    url,
    server,
    databases,
    config,
    logger,
    async close() {
      await server.close();
      await pool.close();
      await databases.close();
    },
  };
}
