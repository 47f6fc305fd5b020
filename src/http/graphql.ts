/**
 * Apollo Server 5 on Fastify: the /graphql route, GraphiQL for browsers, the per-request
 * context, and one log line per operation.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { Context } from '../context.ts';
import { maskError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Services } from '../services/index.ts';
import { GRAPHIQL_CSP, graphiqlHtml, registerGraphiqlAssets, wantsGraphiql } from './graphiql.ts';

export interface GraphqlOptions {
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly logger: Logger;
  readonly introspection: boolean;
  readonly graphiql: boolean;
  /** Extra Apollo plugins (metrics, admission control…). */
  readonly plugins?: readonly ApolloServerPlugin<Context>[];
}

/** One structured line per operation: id, name, duration, outcome. Never variables. */
function operationLogPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      const codes = new Set<string>();
      return {
        async didEncounterErrors({ errors }) {
          for (const e of errors) codes.add(String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
        },
        async willSendResponse({ operationName, operation }) {
          const outcome = codes.size === 0 ? 'ok' : [...codes].join(',');
          logger.info(
            {
              requestId: contextValue.requestId,
              operationName: operationName ?? null,
              operationType: operation?.operation ?? null,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
              outcome,
            },
            'graphql operation',
          );
        },
      };
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
  // Made on first use (see contextFor), possibly after the client has already gone.
  if (response.closed) onClose();
  else response.once('close', onClose);
  return controller.signal;
}

/**
 * The per-request context function handed to Apollo's Fastify handler. Exported so the
 * benchmark's default-Apollo baseline builds exactly the same context for the same resolvers.
 */
export function contextFor(services: Services, logger: Logger) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<Context> => {
    const device = request.headers['x-device-id'];
    // The signal (an AbortController and a listener) and the child logger are made when a
    // resolver first asks for them: most operations use neither, and on small queries their
    // cost per request was measurable (bench/trivial-query.ts).
    let signal: AbortSignal | undefined;
    let log: Logger | undefined;
    return {
      requestId: request.id,
      ip: request.ip,
      deviceId: typeof device === 'string' && device.length > 0 && device.length <= 200 ? device : null,
      get signal() {
        return (signal ??= clientSignal(reply));
      },
      get log() {
        return (log ??= logger.child({ requestId: request.id }));
      },
      services,
      caller: await services.auth.resolveCaller(request.headers.authorization),
    };
  };
}

/** Creates and starts Apollo, then registers GET/POST /graphql on the Fastify app. */
export async function registerGraphql(app: FastifyInstance, options: GraphqlOptions): Promise<ApolloServer<Context>> {
  const apollo = new ApolloServer<Context>({
    schema: options.schema,
    introspection: options.introspection,
    csrfPrevention: true,
    // main.ts owns the signals: Apollo's own handler would re-raise SIGTERM and exit 143 mid-drain.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: maskError(options.logger),
    // Turn off what we do not use: per-field cache-control instrumentation alone costs a
    // visible share of a small query; the others are no-ops without Apollo Studio but say so.
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      fastifyApolloDrainPlugin(app),
      operationLogPlugin(options.logger),
      ...(options.plugins ?? []),
    ],
  });
  await apollo.start();
  const handler = fastifyApolloHandler(apollo, { context: contextFor(options.services, options.logger) });
  if (options.graphiql) await registerGraphiqlAssets(app);
  const page = options.graphiql ? graphiqlHtml({ endpoint: '/graphql', title: 'Strongroom' }) : undefined;
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    handler(request, reply) {
      if (page !== undefined && request.method === 'GET' && wantsGraphiql(request.headers.accept)) {
        return reply.type('text/html; charset=utf-8').header('content-security-policy', GRAPHIQL_CSP).send(page);
      }
      return handler.call(this, request as never, reply as never);
    },
  });
  return apollo;
}

