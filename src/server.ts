/**
 * createServer(deps): the HTTP server with everything mounted. No process.env, no side
 * effects at import; long-lived resources (databases, pools) come in through `deps` and
 * are closed by whoever created them.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApolloServer } from '@apollo/server';
import type { Registry } from 'prom-client';
import type { Config } from './config.ts';
import type { Context } from './context.ts';
import type { Databases } from './db/client.ts';
import { queryLimitsFrom } from './graphql/limits.ts';
import { fastifyErrorOptions, registerErrorHandlers } from './http/errors.ts';
import { registerGraphql } from './http/graphql.ts';
import { admissionPlugin } from './http/admission.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createMetrics, registerMetricsRoute } from './http/metrics.ts';
import { registerJsonBodyParser } from './http/json-body.ts';
import { registerJwksRoute } from './http/jwks.ts';
import { requestId } from './http/request-id.ts';
import { registerReportDownloads } from './http/reports.ts';
import type { Renderer } from './reports/renderer.ts';
import type { Logger } from './logger.ts';
import { buildSchema } from './schema.ts';
import type { Keyring } from './crypto/keyring.ts';
import { createServices, type Services } from './services/index.ts';
import type { WorkerPool } from './workers/pool.ts';
import { TASK_KINDS, type TASKS } from './workers/tasks.ts';

export interface ServerDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly databases: Databases;
  /** The open keyring (src/crypto/keyring.ts): the cipher of every secret column; created and closed by the caller. */
  readonly keyring: Keyring;
  /** Heavy work goes here; created and closed by the caller (after close() has drained HTTP). */
  readonly pool: WorkerPool<typeof TASKS>;
  /** The clock (tests pass a frozen one); default the system clock. */
  readonly now?: () => Date;
  /**
   * The PDF renderer, when this process renders reports (REPORT_RENDERING); created and
   * closed by the caller. The render loop starts with `services.reports.start()`.
   */
  readonly renderer?: Renderer;
}

export interface StrongroomServer {
  readonly app: FastifyInstance;
  readonly apollo: ApolloServer<Context>;
  readonly services: Services;
  /** Prometheus registry served on GET /metrics. */
  readonly metrics: Registry;
  /** The listener serving only /metrics, when METRICS_PORT is set (else /metrics is on `app`). */
  readonly metricsApp: FastifyInstance | undefined;
  /** Starts listening on config.host:config.port (and the metrics listener); resolves to the base URL. */
  listen(): Promise<string>;
  /** Base URL of the metrics listener once listening; undefined without METRICS_PORT. */
  metricsUrl(): string | undefined;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to
   * `config.shutdownTimeoutMs`, then closes the rest. Does not close `deps.databases`.
   */
  close(): Promise<void>;
}

export async function createServer(deps: ServerDeps): Promise<StrongroomServer> {
  const { config, logger, databases, pool } = deps;
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // GraphQL operations get one line each from our Apollo plugin; Fastify's per-request lines would double them.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify would make a child logger per request (a pino child plus our redaction of its
    // bindings) that nothing uses: HTTP-level errors log the request id themselves.
    childLoggerFactory: (parent) => parent,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    // The client's x-request-id only when it is a plausible id (request-id.ts).
    requestIdHeader: false,
    genReqId: requestId,
    // Idle keep-alive sockets are closed at once on shutdown; busy ones get the grace period.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ...fastifyErrorOptions,
  });
  // Every response carries its request id (a callback hook: no promise per request).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  registerErrorHandlers(app);
  registerJsonBodyParser(app, { maxDepth: config.bodyMaxDepth });
  const services = createServices({ config, databases, keyring: deps.keyring, logger, pool, now: deps.now, renderer: deps.renderer });
  registerHealthRoutes(app, services.system);
  registerJwksRoute(app, services.auth);
  registerReportDownloads(app, services.reports);
  const metrics = createMetrics({ pool, taskKinds: TASK_KINDS, maxOperationNames: config.metricsMaxOperationNames });
  app.addHook('onClose', async () => metrics.close());
  // With METRICS_PORT, /metrics lives on a listener of its own (a private address) and not on the API's.
  const metricsApp =
    config.metricsPort === undefined
      ? undefined
      : Fastify({ loggerInstance: logger.child({ component: 'metrics' }) as FastifyBaseLogger, ...fastifyErrorOptions });
  if (metricsApp) registerErrorHandlers(metricsApp);
  registerMetricsRoute(metricsApp ?? app, metrics.registry, { token: config.metricsToken });
  const schema = buildSchema();
  const apollo = await registerGraphql(app, {
    schema,
    services,
    logger,
    introspection: config.introspection,
    graphiql: config.graphiql,
    limits: queryLimitsFrom(config),
    plugins: [admissionPlugin({ schema, pool, highWater: config.workerQueueHighWater })],
    onOperation: [metrics.recordOperation],
  });
  await app.ready();
  await metricsApp?.ready();

  let closing: Promise<void> | undefined;
  let metricsAddress: string | undefined;
  return {
    app,
    apollo,
    services,
    metrics: metrics.registry,
    metricsApp,
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      if (metricsApp) metricsAddress = (await metricsApp.listen({ host: config.metricsHost, port: config.metricsPort })).replace('[::1]', 'localhost');
      return address.replace('[::1]', 'localhost');
    },
    metricsUrl: () => metricsAddress,
    close() {
      closing ??= (async () => {
        const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
        force.unref();
        try {
          await metricsApp?.close();
          await app.close(); // stops accepting, waits for in-flight requests, stops Apollo (drain plugin)
        } finally {
          clearTimeout(force);
          await services.close();
        }
      })();
      return closing;
    },
  };
}
