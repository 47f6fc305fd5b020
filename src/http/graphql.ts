/**
 * Apollo Server 5 on Fastify: the /graphql route, GraphiQL for browsers, the per-request
 * context, and one log line per operation.
 */
import { Readable } from 'node:stream';
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type GraphQLRequestListener, type GraphQLResponse } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { Context } from '../context.ts';
import { maskError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Caller } from '../services/auth/caller.ts';
import type { Services } from '../services/index.ts';
import { executionPlugin, type FormatError } from './execution.ts';
import { GRAPHIQL_CSP, graphiqlHtml, registerGraphiqlAssets, wantsGraphiql } from './graphiql.ts';

export interface GraphqlOptions {
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly logger: Logger;
  readonly introspection: boolean;
  readonly graphiql: boolean;
  /** Extra Apollo plugins (admission control…). */
  readonly plugins?: readonly ApolloServerPlugin<Context>[];
  /** Called once per operation with its outcome (metrics). */
  readonly onOperation?: readonly ((record: OperationRecord) => void)[];
}

/** What is known of an operation once its response is ready: logged, and counted in /metrics. */
export interface OperationRecord {
  readonly requestId: string;
  /** The name the operation resolved to, or the one the client sent when it did not resolve. */
  readonly operationName: string | null;
  readonly operationType: string | null;
  /** False when parsing, validation or operation selection failed. */
  readonly resolved: boolean;
  /** Distinct `extensions.code` values of the response's errors, in order; empty when it has none. */
  readonly codes: readonly string[];
  /** From the request reaching the GraphQL route to the response being ready. */
  readonly durationMs: number;
}

/** Distinct error codes of a formatted response, in order of appearance. */
function errorCodes(response: GraphQLResponse): string[] {
  if (response.body?.kind !== 'single') return [];
  const errors = response.body.singleResult.errors;
  if (!errors || errors.length === 0) return [];
  const codes: string[] = [];
  for (const e of errors) {
    const code = String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
    if (!codes.includes(code)) codes.push(code);
  }
  return codes;
}

/**
 * Observes every operation once its response is formatted, whichever step produced it
 * (parse and validation errors, admission, execution): one structured log line (id, name,
 * duration, outcome; never variables) and the `onOperation` callbacks (metrics). One
 * listener object serves every request.
 */
function operationPlugin(logger: Logger, onOperation: readonly ((record: OperationRecord) => void)[]): ApolloServerPlugin<Context> {
  const listener: GraphQLRequestListener<Context> = {
    async willSendResponse({ contextValue, request, response, operationName, operation }) {
      const codes = errorCodes(response);
      const record: OperationRecord = {
        requestId: contextValue.requestId,
        operationName: operationName ?? request.operationName ?? null,
        operationType: operation?.operation ?? null,
        resolved: operation !== undefined,
        codes,
        durationMs: Math.round((performance.now() - contextValue.startedAt) * 100) / 100,
      };
      logger.info(
        {
          requestId: record.requestId,
          operationName: record.operationName,
          operationType: record.operationType,
          durationMs: record.durationMs,
          outcome: codes.length === 0 ? 'ok' : codes.join(','),
        },
        'graphql operation',
      );
      for (const observe of onOperation) observe(record);
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}

/** Follows the client: aborts when the response closes before it was sent in full. */
function clientSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  const onClose = () => {
    if (!response.writableFinished) controller.abort(new Error('client disconnected'));
  };
  // Made on first use (see RequestContext), possibly after the client has already gone.
  if (response.closed) onClose();
  else response.once('close', onClose);
  return controller.signal;
}

/**
 * The parts of a context made only when a resolver first asks for them: most operations use
 * neither, and on small queries their cost per request was measurable. Shared between a
 * context and Apollo's copy of it.
 */
class LazyParts {
  private signal: AbortSignal | undefined;
  private log: Logger | undefined;
  constructor(
    private readonly reply: FastifyReply,
    private readonly logger: Logger,
    private readonly requestId: string,
  ) {}
  getSignal(): AbortSignal {
    return (this.signal ??= clientSignal(this.reply));
  }
  getLog(): Logger {
    return (this.log ??= this.logger.child({ requestId: this.requestId }));
  }
}

/**
 * The per-request {@link Context}. A class, with `signal` and `log` as getters on its
 * prototype: Apollo copies the context for each operation with `Object.assign`, which would
 * call getters defined on the object itself (making the signal and the child logger for
 * every request); it copies own fields only, and the copy keeps the prototype.
 */
class RequestContext implements Context {
  constructor(
    readonly requestId: string,
    readonly ip: string,
    readonly deviceId: string | null,
    readonly startedAt: number,
    readonly services: Services,
    readonly caller: Caller,
    private readonly lazy: LazyParts,
  ) {}
  get signal(): AbortSignal {
    return this.lazy.getSignal();
  }
  get log(): Logger {
    return this.lazy.getLog();
  }
}

/**
 * The per-request context function. Exported so the benchmark's default-Apollo baseline
 * builds exactly the same context for the same resolvers.
 */
export function contextFor(services: Services, logger: Logger) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<Context> => {
    const startedAt = performance.now();
    const device = request.headers['x-device-id'];
    return new RequestContext(
      request.id,
      request.ip,
      typeof device === 'string' && device.length > 0 && device.length <= 200 ? device : null,
      startedAt,
      services,
      await services.auth.resolveCaller(request.headers.authorization),
      new LazyParts(reply, logger, request.id),
    );
  };
}

/**
 * Hands a Fastify request to Apollo and writes Apollo's answer. Does what the stock
 * `@as-integrations/fastify` handler does, without the per-request `new URL()` (only the
 * query string is needed, and only for GET).
 */
function apolloHandler(apollo: ApolloServer<Context>, context: (request: FastifyRequest, reply: FastifyReply) => Promise<Context>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const headers = new HeaderMap();
    const raw = request.headers;
    for (const name in raw) {
      const value = raw[name];
      // Empty values are left out, as the stock integration leaves them out.
      if (value) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const q = request.url.indexOf('?');
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method.toUpperCase(), headers, search: q === -1 ? '' : request.url.slice(q), body: request.body },
      context: () => context(request, reply),
    });
    for (const [name, value] of response.headers) void reply.header(name, value);
    void reply.code(response.status ?? 200);
    if (response.body.kind === 'complete') return response.body.string;
    return reply.send(Readable.from(response.body.asyncIterator));
  };
}

/**
 * The Apollo plugins every Strongroom-style server needs whatever else it adds: what we do
 * not use turned off (per-field cache-control instrumentation; the landing page, since
 * GraphiQL is ours; the Studio plugins, no-ops without a key but they say so), and our own
 * execution step and content-type cache (execution.ts).
 */
export function minimalApolloPlugins(formatError: FormatError): ApolloServerPlugin<Context>[] {
  return [
    ApolloServerPluginCacheControlDisabled(),
    ApolloServerPluginLandingPageDisabled(),
    ApolloServerPluginInlineTraceDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
    executionPlugin<Context>(formatError),
  ];
}

/** Registers GET/POST /graphql for a started Apollo; GET from a browser gets `graphiqlPage` when there is one. */
export function registerApolloRoute(
  app: FastifyInstance,
  apollo: ApolloServer<Context>,
  options: { readonly services: Services; readonly logger: Logger; readonly graphiqlPage?: string },
): void {
  const handler = apolloHandler(apollo, contextFor(options.services, options.logger));
  const page = options.graphiqlPage;
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    handler(request, reply) {
      if (page !== undefined && request.method === 'GET' && wantsGraphiql(request.headers.accept)) {
        return reply.type('text/html; charset=utf-8').header('content-security-policy', GRAPHIQL_CSP).send(page);
      }
      return handler(request, reply);
    },
  });
}

/** Creates and starts Apollo, then registers GET/POST /graphql on the Fastify app. */
export async function registerGraphql(app: FastifyInstance, options: GraphqlOptions): Promise<ApolloServer<Context>> {
  const formatError = maskError(options.logger);
  const apollo = new ApolloServer<Context>({
    schema: options.schema,
    introspection: options.introspection,
    csrfPrevention: true,
    // main.ts owns the signals: Apollo's own handler would re-raise SIGTERM and exit 143 mid-drain.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError,
    plugins: [
      ...minimalApolloPlugins(formatError),
      fastifyApolloDrainPlugin(app),
      ...(options.plugins ?? []),
      operationPlugin(options.logger, options.onOperation ?? []),
    ],
  });
  await apollo.start();
  if (options.graphiql) await registerGraphiqlAssets(app);
  registerApolloRoute(app, apollo, {
    services: options.services,
    logger: options.logger,
    graphiqlPage: options.graphiql ? graphiqlHtml({ endpoint: '/graphql', title: 'Strongroom' }) : undefined,
  });
  return apollo;
}
