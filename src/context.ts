/** The per-request context every resolver receives. Built in src/http/graphql.ts. */
import type { Logger } from './logger.ts';
import type { Caller } from './services/auth/caller.ts';
import type { Services } from './services/index.ts';

export interface Context {
  /** Correlates the log line of this operation (also sent back as `x-request-id`). */
  readonly requestId: string;
  /** Client address: the socket's, or X-Forwarded-For's when TRUST_PROXY names the proxy. */
  readonly ip: string;
  /** `performance.now()` when the request reached the GraphQL route (operation durations count from here). */
  readonly startedAt: number;
  /** Aborted when the client disconnects; heavy work follows it. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly services: Services;
  /**
   * Who is calling, from `Authorization: Bearer …` (anonymous, refused token, or a user).
   * Resolved once per HTTP request, after the operation has passed parsing, validation, the
   * GraphQL limits and admission, so a refused request never reaches the auth database.
   */
  readonly caller: Caller;
  /**
   * Per-request memo: the first call for `key` runs `load`, every later one in the same HTTP
   * request (every alias, every operation of a batch) gets the same promise. For values that
   * depend only on the request, such as the signed-in user's row.
   */
  once<T>(key: string, load: () => Promise<T>): Promise<T>;
}
