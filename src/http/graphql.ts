/**
 * Apollo Server 5 on Fastify: the /graphql route, GraphiQL for browsers, the per-request
 * context, the GraphQL limits (src/graphql/limits.ts), and one log line per operation.
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
import { batchLimitError, noIntrospectionRule, queryLimitsRule, type QueryLimits } from '../graphql/limits.ts';
import type { Logger } from '../logger.ts';
import { ANONYMOUS, type Caller } from '../services/auth/caller.ts';
import type { Services } from '../services/index.ts';
import { errorBody } from './errors.ts';
import { executionPlugin, type FormatError } from './execution.ts';
import { clientFormatError } from './format-error.ts';
import { GRAPHIQL_CSP, graphiqlHtml, registerGraphiqlAssets, wantsGraphiql } from './graphiql.ts';

export interface GraphqlOptions {
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly logger: Logger;
  /** Allow `__schema`/`__type`; when off, "Did you mean …?" suggestions are off too (they would reveal the schema). */
  readonly introspection: boolean;
  readonly graphiql: boolean;
  readonly limits: QueryLimits;
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

/** Longest operation name written to a log line or passed to `onOperation`: the name is the client's to choose. */
const MAX_OPERATION_NAME = 100;

const boundedName = (name: string | null | undefined): string | null =>
  typeof name !== 'string' ? null : name.length > MAX_OPERATION_NAME ? `${name.slice(0, MAX_OPERATION_NAME)}…` : name;

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
        operationName: boundedName(operationName ?? request.operationName),
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
 * The parts of a context made only when first needed: most operations use neither the signal
 * nor the logger, and on small queries their cost per request was measurable; the caller is
 * resolved only once the operation is about to run (see {@link authenticate}). Shared
 * between a context and Apollo's copies of it, so a batch resolves its caller once.
 */
class LazyParts {
  private signal: AbortSignal | undefined;
  private log: Logger | undefined;
  private resolving: Promise<Caller> | undefined;
  caller: Caller | undefined;
  memo: Map<string, Promise<unknown>> | undefined;
  constructor(
    private readonly reply: FastifyReply,
    private readonly logger: Logger,
    private readonly requestId: string,
    private readonly services: Services,
    private readonly authorization: string | undefined,
  ) {}
  getSignal(): AbortSignal {
    return (this.signal ??= clientSignal(this.reply));
  }
  getLog(): Logger {
    return (this.log ??= this.logger.child({ requestId: this.requestId }));
  }
  /** Resolves the caller once; undefined when it is already known (no header: anonymous, without a promise). */
  resolveCaller(): Promise<Caller> | undefined {
    if (this.caller !== undefined) return undefined;
    // The auth service answers a missing header with ANONYMOUS too; deciding it here spares
    // the common anonymous request a promise and its microtasks.
    if (!this.authorization) {
      this.caller = ANONYMOUS;
      return undefined;
    }
    this.resolving ??= this.services.auth.resolveCaller(this.authorization).then((caller) => (this.caller = caller));
    return this.resolving;
  }
}

/**
 * The per-request {@link Context}. A class, with `signal`, `log` and `caller` as getters on its
 * prototype: Apollo copies the context for each operation with `Object.assign`, which would
 * call getters defined on the object itself (making the signal and the child logger for
 * every request); it copies own fields only, and the copy keeps the prototype.
 */
class RequestContext implements Context {
  constructor(
    readonly requestId: string,
    readonly ip: string,
    readonly startedAt: number,
    readonly services: Services,
    private readonly lazy: LazyParts,
  ) {}
  get signal(): AbortSignal {
    return this.lazy.getSignal();
  }
  get log(): Logger {
    return this.lazy.getLog();
  }
  get caller(): Caller {
    const caller = this.lazy.caller;
    if (caller === undefined) throw new TypeError('the caller was read before the request was authenticated (see authenticate)');
    return caller;
  }
  /** Resolves the caller from the Authorization header, once per HTTP request; undefined when nothing needs awaiting. */
  authenticate(): Promise<Caller> | undefined {
    return this.lazy.resolveCaller();
  }
  once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const memo = (this.lazy.memo ??= new Map());
    let value = memo.get(key) as Promise<T> | undefined;
    if (value === undefined) memo.set(key, (value = load()));
    return value;
  }
}

/**
 * Resolves the caller (token verification and the session lookup in the auth database) of a
 * context made by {@link contextFor}. Our execution step calls it just before it executes:
 * after parsing, validation, the GraphQL limits and admission, so that a request refused by
 * any of them costs no database query. Undefined when nothing needs awaiting.
 */
export function authenticate(context: Context): Promise<unknown> | undefined {
  return context instanceof RequestContext ? context.authenticate() : undefined;
}

/**
 * The per-request context function. Exported so the benchmark's default-Apollo baseline
 * builds exactly the same context for the same resolvers; a server without our execution
 * step (that baseline), which calls {@link authenticate}, passes `authenticateUpFront`.
 */
export function contextFor(services: Services, logger: Logger, options: { readonly authenticateUpFront?: boolean } = {}) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<Context> => {
    const startedAt = performance.now();
    const context = new RequestContext(
      request.id,
      request.ip,
      startedAt,
      services,
      new LazyParts(reply, logger, request.id, services, request.headers.authorization),
    );
    if (options.authenticateUpFront) await context.authenticate();
    return context;
  };
}

/** What the route needs besides Apollo: the batch limit, and where a refused batch is reported. */
interface HandlerOptions {
  /** Operations per HTTP request (GRAPHQL_MAX_BATCH); default 1: no batching. */
  readonly maxBatch?: number;
  readonly logger?: Logger;
  readonly onOperation?: readonly ((record: OperationRecord) => void)[];
}

/**
 * Hands a Fastify request to Apollo and writes Apollo's answer. Does what the stock
 * `@as-integrations/fastify` handler does, without the per-request `new URL()` (only the
 * query string is needed, and only for GET). A JSON array body (a batch) over the batch limit
 * is refused here, before Apollo, the context or any operation of it.
 */
function apolloHandler(apollo: ApolloServer<Context>, context: (request: FastifyRequest, reply: FastifyReply) => Promise<Context>, options: HandlerOptions) {
  const maxBatch = options.maxBatch ?? 1;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (Array.isArray(request.body)) {
      const refused = batchLimitError(request.body.length, maxBatch);
      if (refused) return refuseBatch(request, reply, refused, options, performance.now());
    }
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

/** Answers a refused batch as Apollo answers a refused operation (one coded error, HTTP 400), with its log line and metric. */
function refuseBatch(
  request: FastifyRequest,
  reply: FastifyReply,
  error: { message: string; extensions: Record<string, unknown> },
  options: HandlerOptions,
  startedAt: number,
) {
  const durationMs = Math.round((performance.now() - startedAt) * 100) / 100;
  options.logger?.info({ requestId: request.id, operationName: null, operationType: null, durationMs, outcome: 'QUERY_LIMIT_EXCEEDED' }, 'graphql operation');
  const record: OperationRecord = {
    requestId: request.id,
    operationName: null,
    operationType: null,
    resolved: false,
    codes: ['QUERY_LIMIT_EXCEEDED'],
    durationMs,
  };
  for (const observe of options.onOperation ?? []) observe(record);
  return reply
    .code(400)
    .type('application/json; charset=utf-8')
    .send(errorBody('QUERY_LIMIT_EXCEEDED', error.message, error.extensions));
}

/**
 * The Apollo plugins every Strongroom-style server needs whatever else it adds: what we do
 * not use turned off (per-field cache-control instrumentation; the landing page, since
 * GraphiQL is ours; the Studio plugins, no-ops without a key but they say so), and our own
 * execution step and content-type cache (execution.ts).
 */
export function minimalApolloPlugins(formatError: FormatError, options: { readonly hideSuggestions?: boolean } = {}): ApolloServerPlugin<Context>[] {
  return [
    ApolloServerPluginCacheControlDisabled(),
    ApolloServerPluginLandingPageDisabled(),
    ApolloServerPluginInlineTraceDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
    executionPlugin<Context>(formatError, { ...options, authenticate }),
  ];
}

/** Registers GET/POST /graphql for a started Apollo; GET from a browser gets `graphiqlPage` when there is one. */
export function registerApolloRoute(
  app: FastifyInstance,
  apollo: ApolloServer<Context>,
  options: { readonly services: Services; readonly logger: Logger; readonly graphiqlPage?: string } & HandlerOptions,
): void {
  const handler = apolloHandler(apollo, contextFor(options.services, options.logger), options);
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
  const { limits } = options;
  // With introspection off the schema is private, and suggestions would spell it out.
  const hideSuggestions = !options.introspection;
  const formatError = clientFormatError(maskError(options.logger), { hideSuggestions });
  const apollo = new ApolloServer<Context>({
    schema: options.schema,
    // Refused by our own rule below instead (Apollo's message names Apollo Server).
    introspection: true,
    csrfPrevention: true,
    // main.ts owns the signals: Apollo's own handler would re-raise SIGTERM and exit 143 mid-drain.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // graphql-js stops parsing at the token limit: an oversized document is never parsed whole.
    parseOptions: { maxTokens: limits.maxTokens },
    // After graphql-js's own rules in Apollo's list; the limits rule acts on the Document node,
    // before any of them has looked at a selection (see src/graphql/limits.ts).
    validationRules: [queryLimitsRule(limits), ...(options.introspection ? [] : [noIntrospectionRule])],
    // graphql-js leaves "Did you mean …?" out of validation messages itself (so Apollo's
    // hideSchemaDetailsFromClientErrors, a plugin that edits them afterwards on every
    // request, is not needed); clientFormatError covers the rest.
    validationOptions: { hideSuggestions },
    allowBatchedHttpRequests: limits.maxBatch > 1,
    formatError,
    plugins: [
      ...minimalApolloPlugins(formatError, { hideSuggestions }),
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
    maxBatch: limits.maxBatch,
    onOperation: options.onOperation,
  });
  return apollo;
}
