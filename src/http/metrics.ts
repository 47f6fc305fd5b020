/**
 * GET /metrics in Prometheus text format (prom-client): the worker pool, event-loop lag and
 * GraphQL operation latency. One Registry per server, so servers in one process (tests)
 * never share counters. The route can require a bearer token (METRICS_TOKEN) and can be served
 * on a listener of its own (METRICS_PORT, see server.ts) instead of the API's.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Gauge, Histogram, Registry } from 'prom-client';
import { errorBody } from './errors.ts';
import type { OperationRecord } from './graphql.ts';
import { registerPoolMetrics } from '../workers/metrics.ts';
import type { WorkerPool } from '../workers/pool.ts';

export interface Metrics {
  readonly registry: Registry;
  /** Records an operation's latency by operation name and outcome (ok, or its first error code). */
  recordOperation(record: OperationRecord): void;
  /** Stops the event-loop monitor and the pool subscription. */
  close(): void;
}

export interface MetricsOptions {
  readonly pool: WorkerPool;
  readonly taskKinds: readonly string[];
  /** Distinct operation names kept as labels; the rest are `other` (METRICS_MAX_OPERATION_NAMES). */
  readonly maxOperationNames: number;
}

/** Operation names longer than this are counted as `other`: a label is kept in memory for the life of the process. */
const MAX_LABEL_LENGTH = 64;

const OPERATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const stopPool = registerPoolMetrics(registry, options.pool, options.taskKinds);

  // Event-loop delay sampled by libuv every 10 ms; the gauges describe the time since the previous scrape.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const lag = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(Number.isFinite(read()) ? read() / 1e9 : 0);
      },
    });
  lag('strongroom_event_loop_lag_p50_seconds', 'Median event-loop delay since the previous scrape.', () => loop.percentile(50));
  lag('strongroom_event_loop_lag_p99_seconds', '99th percentile event-loop delay since the previous scrape.', () => loop.percentile(99));
  lag('strongroom_event_loop_lag_max_seconds', 'Largest event-loop delay since the previous scrape.', () => loop.max);
  // Reset after every gauge above has read the window (collect runs in registration order).
  new Gauge({
    name: 'strongroom_event_loop_lag_window_seconds',
    help: 'Length of the window the event-loop lag gauges describe.',
    registers,
    collect() {
      const now = performance.now();
      this.set((now - windowStart) / 1000);
      windowStart = now;
      loop.reset();
    },
  });
  let windowStart = performance.now();

  const latency = new Histogram({
    name: 'strongroom_graphql_operation_duration_seconds',
    help: 'GraphQL operation latency from request to response, by operation name and outcome (ok or the first error code).',
    labelNames: ['operation', 'outcome'],
    buckets: OPERATION_BUCKETS,
    registers,
  });
  const names = new Set<string>();
  const label = (operationName: string | null | undefined, resolved: boolean): string => {
    if (!resolved) return 'unresolved'; // parse or validation failed: the name is whatever the client sent
    if (!operationName) return 'anonymous';
    if (names.has(operationName)) return operationName;
    if (operationName.length > MAX_LABEL_LENGTH) return 'other';
    if (names.size >= options.maxOperationNames) return 'other';
    names.add(operationName);
    return operationName;
  };

  return {
    registry,
    recordOperation({ operationName, resolved, codes, durationMs }) {
      latency.observe({ operation: label(operationName, resolved), outcome: codes[0] ?? 'ok' }, durationMs / 1000);
    },
    close() {
      stopPool();
      loop.disable();
    },
  };
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** True when the request carries `Authorization: Bearer <token>`; compared in constant time. */
function bearerMatches(request: FastifyRequest, expected: Buffer): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '');
  // Hashing first makes both sides the same length, so the comparison leaks nothing about the length either.
  return m !== null && timingSafeEqual(digest(m[1]!), expected);
}

/** Registers GET /metrics on `app`; with `token`, a request without `Authorization: Bearer <token>` gets 401. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry, options: { readonly token?: string } = {}): void {
  const expected = options.token === undefined ? undefined : digest(options.token);
  app.get('/metrics', async (request, reply) => {
    if (expected && !bearerMatches(request, expected)) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send(errorBody('UNAUTHENTICATED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.'));
    }
    return reply
      .header('cache-control', 'no-store')
      .type(registry.contentType)
      .send(await registry.metrics());
  });
}
