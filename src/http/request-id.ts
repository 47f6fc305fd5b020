/**
 * The id of each request: the client's `x-request-id` when it is a plausible id (so a caller can
 * follow its own request through our logs), a new UUID otherwise. The header is the client's to
 * choose and lands in every log line of the request and in the response, so it is bounded.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Letters, digits and `.`, `_`, `:`, `@`, `-`; at most 128 characters. */
const PLAUSIBLE_ID = /^[\w.:@-]{1,128}$/;

/** Fastify `genReqId`. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && PLAUSIBLE_ID.test(given) ? given : randomUUID();
}
