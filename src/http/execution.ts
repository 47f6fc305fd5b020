/**
 * Execution of a resolved operation, done by us in Apollo's `responseForOperation` hook
 * instead of by Apollo's own execution step; and the response's content type, settled from
 * our negotiation cache (negotiate.ts) before Apollo would negotiate it again.
 *
 * Apollo's execution step wraps graphql-js `execute` in work we never use: it negotiates
 * incremental delivery (`@defer`) with a fresh Negotiator on every request, awaits
 * `executionDidStart` on every plugin (which turns on per-field instrumentation when one asks
 * for it), and routes the result through its incremental-delivery polyfill. On small
 * operations that was a fifth of a request's CPU (bench/trivial-query.ts). The hook is
 * Apollo's documented way for a plugin to answer an operation itself (the response cache
 * uses it); parsing, validation, the document cache, `didResolveOperation` (our admission
 * control) and `willSendResponse` all still run as before.
 *
 * What this takes over from Apollo, and keeps the same:
 * - errors raised during execution are formatted as Apollo formats them: a GraphQLError with
 *   `extensions.code` defaulting to INTERNAL_SERVER_ERROR, `extensions.http` moved into the
 *   HTTP response (status and headers), then our `formatError` (masking) applied;
 * - when graphql-js answers without `data` (nothing executed: variables that do not coerce),
 *   or no operation was resolved, the hook returns null and Apollo's own step answers, with
 *   its own codes and status 400. No resolver has run at that point, so nothing runs twice.
 *
 * What it adds: right before executing it calls `authenticate` (graphql.ts resolves the caller
 * there), so the caller's database lookup happens only for operations that will run.
 *
 * What it gives up, deliberately: `executionDidStart`, `willResolveField` and
 * `didEncounterErrors` of other plugins are not called for execution errors (ours read the
 * final, formatted response in `willSendResponse` instead), and Apollo's `rootValue`,
 * `fieldResolver` and `executionOptions` settings are not read (we set none). Incremental
 * delivery is not offered (graphql 16 has no `@defer`).
 */
import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestListener, type GraphQLResponse } from '@apollo/server';
import { execute, type GraphQLError, type GraphQLFormattedError } from 'graphql';
import { singleResultContentType } from './negotiate.ts';

/** Apollo's `formatError` signature. */
export type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

type HttpHead = GraphQLResponse['http'];

/** An `extensions.http` value Apollo would honour (its isPartialHTTPGraphQLHead). */
function isHttpHead(value: unknown): value is Partial<HttpHead> {
  if (value === null || typeof value !== 'object') return false;
  const head = value as { status?: unknown; headers?: unknown };
  return (head.status === undefined || typeof head.status === 'number') && (head.headers === undefined || head.headers instanceof Map);
}

/**
 * Formats one execution error as Apollo's normalizeAndFormatErrors does with
 * `includeStacktraceInErrorResponses: false`, merging any `extensions.http` into `head`.
 */
export function formatExecutionError(error: GraphQLError, head: HttpHead, formatError: FormatError): GraphQLFormattedError {
  const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions.code ?? 'INTERNAL_SERVER_ERROR' };
  if (isHttpHead(extensions.http)) {
    const { status, headers } = extensions.http;
    if (status) head.status = status;
    if (headers) for (const [name, value] of headers) head.headers.set(name, value);
    delete extensions.http;
  }
  try {
    return formatError({ ...error.toJSON(), extensions }, error);
  } catch {
    return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  }
}

/** Shared by every response without errors: Apollo only reads it (mergeHTTPGraphQLHead). */
const NO_HTTP_CHANGES: HttpHead = { status: undefined, headers: new HeaderMap() };

export interface ExecutionOptions<TContext> {
  /** Leave "Did you mean …?" out of graphql-js's messages about variables that do not coerce (an enum value misspelt). */
  readonly hideSuggestions?: boolean;
  /**
   * Called just before executing, after everything that can refuse the operation: resolves
   * what the context defers (the caller). A failure is answered as an unexpected error, masked
   * by `formatError`, HTTP 500; nothing is executed.
   */
  readonly authenticate?: (context: TContext) => Promise<unknown> | undefined;
}

/** Our execution step (see above). */
export function executionPlugin<TContext extends object>(formatError: FormatError, options: ExecutionOptions<TContext> = {}): ApolloServerPlugin<TContext> {
  const hideSuggestions = options.hideSuggestions ?? false;
  const authenticate = options.authenticate;
  // One listener for every request: it keeps no per-request state.
  const listener: GraphQLRequestListener<TContext> = {
    async willSendResponse({ request, response }) {
      if (response.body?.kind !== 'single' || response.http.headers.has('content-type')) return;
      const type = singleResultContentType(request.http?.headers.get('accept'));
      // null: the client accepts none of ours; Apollo answers that with 406.
      if (type !== null) response.http.headers.set('content-type', type);
    },
    async responseForOperation({ schema, document, operation, request, contextValue }) {
      if (!operation) return null;
      const pending = authenticate?.(contextValue);
      if (pending) {
        try {
          await pending;
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          const formatted = formatError({ message: error.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, error);
          return { http: { status: 500, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { errors: [formatted] } } };
        }
      }
      const result = await execute({
        schema,
        document,
        contextValue,
        variableValues: request.variables,
        operationName: request.operationName,
        hideSuggestions,
      });
      if (result.data === undefined) return null;
      if (!result.errors || result.errors.length === 0) {
        return { http: NO_HTTP_CHANGES, body: { kind: 'single', singleResult: result } };
      }
      const http: HttpHead = { status: undefined, headers: new HeaderMap() };
      const errors = result.errors.map((e) => formatExecutionError(e, http, formatError));
      return { http, body: { kind: 'single', singleResult: { ...result, errors } } };
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}
