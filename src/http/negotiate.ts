/**
 * The media type of a single GraphQL result, chosen from the request's `Accept` header exactly
 * as Apollo Server chooses it, but remembered per distinct header value.
 *
 * Apollo negotiates with a fresh `Negotiator` on every response (it re-parses our three
 * candidate types each time); measured on `{ __typename }` that was several percent of the
 * request. Clients send a handful of distinct `Accept` values, so the answer is cached, up
 * to {@link MAX_CACHED} values; past that, headers are negotiated each time and not stored,
 * so a client sending random headers cannot grow memory.
 */
import Negotiator from 'negotiator';

/** The types Apollo Server 5 offers for a single result, in its order of preference (its MEDIA_TYPES). */
export const SINGLE_RESULT_TYPES = [
  'application/json; charset=utf-8',
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
] as const;

/** Distinct Accept values remembered. */
const MAX_CACHED = 64;

const cache = new Map<string, string | null>();

/**
 * The content type for a single result, or null when the client accepts none of them
 * (Apollo then answers 406). No header means `application/json`, as in Apollo.
 */
export function singleResultContentType(accept: string | undefined): string | null {
  if (!accept) return SINGLE_RESULT_TYPES[0];
  const known = cache.get(accept);
  if (known !== undefined) return known;
  const chosen = new Negotiator({ headers: { accept } }).mediaType([...SINGLE_RESULT_TYPES]) ?? null;
  if (cache.size < MAX_CACHED) cache.set(accept, chosen);
  return chosen;
}
