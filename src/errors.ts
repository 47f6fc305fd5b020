/**
 * The one list of error codes a client can see, and the coded GraphQLError base.
 *
 * Clients branch on `extensions.code`; people read `message`. Anything thrown that is
 * not a {@link StrongroomError} (or one of graphql-js/Apollo's own request errors) is
 * masked by {@link maskError}: a driver error's message can contain SQL and parameters.
 * Misuse of our own APIs by our own code is a plain `TypeError`, never one of these.
 */
import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { postgresError } from './db/postgres-error.ts';

/** Every code Strongroom puts in `extensions.code`, with what it means (the README table is built from this). */
export const ERROR_CODES = {
  UNAUTHENTICATED: 'No valid access token was presented, or it has expired.',
  FORBIDDEN: 'The caller is signed in but their role does not allow this.',
  SECOND_FACTOR_REQUIRED: 'The session has not passed the second sign-in step (or not recently enough: see `extensions.maxAge`).',
  BAD_USER_INPUT: 'An argument is invalid; `extensions.field` names it when there is one.',
  NOT_FOUND: 'The thing asked for does not exist (or the caller may not know it does).',
  TIMEOUT: 'The work did not finish within its time limit; nothing was changed.',
  SERVER_BUSY: 'The server is saturated and refused the work before starting it; retry after `extensions.retryAfter` seconds.',
  CANCELLED: 'The work was cancelled because the client went away or the server is shutting down.',
  RATE_LIMITED: 'Too many attempts; retry after `extensions.retryAfter` seconds.',
  BAD_REQUEST: 'The HTTP request itself is malformed (for example a body that is not JSON).',
  PAYLOAD_TOO_LARGE: 'The request body is larger than `BODY_LIMIT_BYTES`.',
  METHOD_NOT_ALLOWED: 'The HTTP method is not allowed here (for example a mutation over GET).',
  GRAPHQL_PARSE_FAILED: 'The document is not valid GraphQL syntax.',
  GRAPHQL_VALIDATION_FAILED: 'The document does not validate against the schema.',
  INTERNAL_SERVER_ERROR: 'An unexpected failure; `extensions.correlationId` matches the server log line.',
  INVALID_CODE: 'The second-step code is wrong; `extensions.attemptsLeft` says how many tries the challenge has left.',
  CHALLENGE_EXPIRED: 'The sign-in challenge is expired, used, or dead after too many wrong codes; sign in again.',
  RENDERER_UNAVAILABLE:
    'A PDF report could not be rendered because Chromium is not available (see `PUPPETEER_EXECUTABLE_PATH`); HTML and CSV reports still work.',
  RENDER_FAILED: 'A report failed on every attempt (Chromium or the render process went away, or rendering broke); `Report.attempts` says how many were made.',
  REPORT_NOT_READY: 'The report has not finished (it is queued or running, or it failed or was cancelled), so there is nothing to download; HTTP 409.',
  RANGE_NOT_SATISFIABLE: 'The `Range` header of a download asks for bytes the file does not have; HTTP 416.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes produced by graphql-js or Apollo itself that are safe to show as they are. */
const PASSTHROUGH_CODES: ReadonlySet<string> = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** Base of every error we mean a client to see. `extensions.code` is always set. */
export class StrongroomError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'StrongroomError';
  }
}

export class UnauthenticatedError extends StrongroomError {
  constructor(message = 'Sign in first.') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends StrongroomError {
  constructor(message = 'Your role does not allow this.') {
    super('FORBIDDEN', message);
  }
}

export class BadUserInputError extends StrongroomError {
  constructor(message: string, field?: string) {
    super('BAD_USER_INPUT', message, field === undefined ? {} : { field });
  }
}

export class NotFoundError extends StrongroomError {
  constructor(message = 'Not found.') {
    super('NOT_FOUND', message);
  }
}

/** Logger shape maskError needs; pino's fits. */
export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/**
 * What may be logged of an unexpected error: its class, a driver's SQLSTATE and
 * constraint, and where it was thrown. Never the message of a database error (drizzle
 * puts the SQL and parameters there) nor the whole stack.
 */
export function describeForLog(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { errorType: typeof err };
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
  const db = postgresError(err);
  const frame = err.stack
    ?.split('\n')
    .find((l) => l.trim().startsWith('at '))
    ?.trim();
  return {
    errorType: chain.map((e) => e.name || e.constructor.name).join(' <- '),
    ...(db ? { sqlState: db.code, constraint: db.constraint, table: db.table } : { errorMessage: err.message.slice(0, 200) }),
    ...(frame ? { thrownAt: frame.replace(/^at /, '') } : {}),
  };
}

/**
 * Apollo `formatError`: coded errors pass through without stack traces; everything else
 * becomes INTERNAL_SERVER_ERROR with a correlation id that also appears in the log line.
 */
export function maskError(logger: ErrorLogger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    const code = formatted.extensions?.code;
    const safe =
      original instanceof StrongroomError ||
      error instanceof StrongroomError ||
      // graphql-js and Apollo's own request errors (parse, validation, variable coercion):
      // coded by Apollo and caused, if at all, by another GraphQLError, never by our code.
      (typeof code === 'string' && PASSTHROUGH_CODES.has(code) && (original === undefined || original instanceof GraphQLError));
    if (safe) {
      const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
      // Apollo answers a mutation over GET with 405 and BAD_REQUEST; the code should say why.
      const status = (error instanceof GraphQLError ? (error.extensions.http as { status?: number } | undefined) : undefined)?.status;
      if (code === 'BAD_REQUEST' && status === 405) extensions.code = 'METHOD_NOT_ALLOWED';
      return { ...formatted, extensions };
    }
    const correlationId = randomUUID();
    logger.error({ correlationId, path: formatted.path, ...describeForLog(original) }, 'unexpected error');
    return {
      message: 'Something went wrong on our side. Quote the correlation id if you report it.',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
    };
  };
}

/** Refused before any work started because the server is saturated; the client should retry after `retryAfter` seconds. */
export class ServerBusyError extends StrongroomError {
  constructor(retryAfter: number, message = 'The server is busy; retry after the number of seconds in extensions.retryAfter.') {
    super('SERVER_BUSY', message, { retryAfter });
  }
}

/** The work did not finish within its time limit (time spent waiting for a worker counts). */
export class TimeoutError extends StrongroomError {
  constructor(timeoutMs: number) {
    super('TIMEOUT', `The work did not finish within ${timeoutMs} ms.`, { timeoutMs });
  }
}

/** The work was stopped because the client went away or the server is shutting down. */
export class CancelledError extends StrongroomError {
  constructor(message = 'The request was cancelled.') {
    super('CANCELLED', message);
  }
}
