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
import type { Services } from '../services/index.ts';
import { authenticate, contextFor } from './context.ts';
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
