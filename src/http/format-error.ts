/**
 * The `formatError` step in front of {@link maskError} (src/errors.ts), for the errors whose
 * code Apollo or graphql-js does not set the way our one list means:
 * - a coded error of ours that Apollo wrapped (a GraphQL limit refused in validation arrives as
 *   GRAPHQL_VALIDATION_FAILED) gets its own code back;
 * - graphql-js stopping `parse` at `maxTokens` is QUERY_LIMIT_EXCEEDED (limit `tokens`), not a
 *   syntax error;
 * - Apollo's own request errors that carry an HTTP 400 but no code (a persisted query whose hash
 *   does not match its text, an unknown persisted-query version) are BAD_REQUEST, not masked as
 *   our failure;
 * - with `hideSuggestions`, "Did you mean …?" is cut from any message that still has one
 *   (graphql-js's own `hideSuggestions` covers validation and our execution step, but not
 *   Apollo's execution of an operation whose variables do not coerce).
 * Everything then goes through `mask`, which decides what a client may see.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { StrongroomError } from '../errors.ts';
import { tokensLimitError } from '../graphql/limits.ts';
import type { FormatError } from './execution.ts';

/** Apollo's DisableSuggestions plugin uses the same expression. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

function httpStatus(error: GraphQLError): number | undefined {
  const http = error.extensions.http as { status?: unknown } | undefined;
  return typeof http?.status === 'number' ? http.status : undefined;
}

function recode(formatted: GraphQLFormattedError, error: unknown): [GraphQLFormattedError, unknown] {
  if (!(error instanceof GraphQLError)) return [formatted, error];
  const code = formatted.extensions?.code;
  const original = error.originalError;
  if (original instanceof StrongroomError && code !== original.code) {
    return [{ ...formatted, extensions: { ...formatted.extensions, code: original.code } }, original];
  }
  if (code === 'GRAPHQL_PARSE_FAILED') {
    const limit = tokensLimitError(formatted.message);
    if (limit) return [{ message: limit.message, extensions: { ...limit.extensions } }, limit];
  }
  if (code === 'INTERNAL_SERVER_ERROR' && original === undefined && !(error instanceof StrongroomError) && httpStatus(error) === 400) {
    const badRequest = new StrongroomError('BAD_REQUEST', formatted.message);
    return [{ ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } }, badRequest];
  }
  return [formatted, error];
}

/** Wraps `mask` (maskError) with the steps above. */
export function clientFormatError(mask: FormatError, options: { readonly hideSuggestions: boolean }): FormatError {
  return (formatted, error) => {
    const out = mask(...recode(formatted, error));
    if (!options.hideSuggestions || !SUGGESTION.test(out.message)) return out;
    return { ...out, message: out.message.replace(SUGGESTION, '') };
  };
}
