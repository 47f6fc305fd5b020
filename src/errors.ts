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
  CONFLICT:
    'The change would break a uniqueness rule (a user holds one licence per application; unique ids and licence keys are unique); `extensions.field` names the field.',
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
  QUERY_LIMIT_EXCEEDED:
    'The request is over one of the GraphQL limits and nothing of it ran: `extensions.limit` names it (`depth`, `aliases`, `directives`, `tokens`, `fragmentSpreads`, `duplicateFields`, `cost`, `introspectionLists`, `analysisSteps` or `batch`), `extensions.max` is the limit and `extensions.value`, when given, what the request reached (at least); HTTP 400.',
  OPERATION_RESOLUTION_FAILURE: 'The document holds several operations and `operationName` is missing or names none of them; HTTP 400.',
  PERSISTED_QUERY_NOT_FOUND:
    'An automatic persisted query was sent by its hash alone and the server does not know it (yet): send it again with `query`. HTTP 200, so that clients that follow the protocol retry.',
  RENDERER_UNAVAILABLE:
    'A PDF report could not be rendered because Chromium is not available (see `PUPPETEER_EXECUTABLE_PATH`); HTML and CSV reports still work.',
  RENDER_FAILED: 'A report failed on every attempt (Chromium or the render process went away, or rendering broke); `Report.attempts` says how many were made.',
  REPORT_NOT_READY: 'The report has not finished (it is queued or running, or it failed or was cancelled), so there is nothing to download; HTTP 409.',
  RANGE_NOT_SATISFIABLE: 'The `Range` header of a download asks for bytes the file does not have; HTTP 416.',
  DECRYPTION_FAILED:
    'A stored secret is not a valid Fernet token of any key in the keyring (damaged, or sealed with a key this keyring does not hold); it is never returned as it is.',
  KEYRING_UNAVAILABLE:
    'The keyring cannot be opened, so the server or command does not start: `extensions.reason` is `MASTER_KEY_MISSING`, `MASTER_KEY_INVALID`, `MASTER_KEY_WRONG`, `KEY_ROW_INVALID` or `KEYRING_EMPTY`; the message names where the master key came from.',
  KEY_IN_USE: '`npm run keys -- retire` refused: the key is primary, or stored values still use it (`extensions.values` says how many).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Codes produced by graphql-js or Apollo itself that are safe to show as they are; each is one
 * of {@link ERROR_CODES}. (PERSISTED_QUERY_NOT_SUPPORTED is not here: automatic persisted queries
 * are on, so Apollo never sends it.)
 */
export const PASSTHROUGH_CODES: ReadonlySet<string> = new Set<string>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
] satisfies ErrorCode[]);

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

/** A stored secret that no key of the keyring opens. The message never holds the token, the key or the column's value. */
export class DecryptionFailedError extends StrongroomError {
  constructor(message = 'A stored secret could not be decrypted.') {
    super('DECRYPTION_FAILED', message);
  }
}

/** A write that would break a uniqueness rule; `field` names the field that collides. */
export class ConflictError extends StrongroomError {
  constructor(message: string, field: string) {
    super('CONFLICT', message, { field });
  }
}

export class NotFoundError extends StrongroomError {
  constructor(message = 'Not found.') {
    super('NOT_FOUND', message);
  }
}

/** Why the keyring could not be opened (see {@link KeyringUnavailableError}). */
export type KeyringProblem = 'MASTER_KEY_MISSING' | 'MASTER_KEY_INVALID' | 'MASTER_KEY_WRONG' | 'KEY_ROW_INVALID' | 'KEYRING_EMPTY';

/** The keyring cannot be opened: the start stops. The message names the master key's source, never the key. */
export class KeyringUnavailableError extends StrongroomError {
  constructor(
    readonly reason: KeyringProblem,
    message: string,
  ) {
    super('KEYRING_UNAVAILABLE', message, { reason });
  }
}

/** Logger shape maskError needs; pino's fits. */
export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/**
 * Error classes whose message is written for people and never holds a query, a parameter
 * or a secret: our coded errors (their message goes to clients anyway) and any class that
 * declares itself safe with {@link SAFE_MESSAGE}. Every other message stays out of the log:
 * drizzle puts the SQL and its parameters in its own, a server error names the value it
 * refused, and Node's argument errors quote what they were given.
 */
export const SAFE_MESSAGE: unique symbol = Symbol.for('strongroom.safeMessage');

const hasSafeMessage = (e: Error) => e instanceof StrongroomError || (e as { [SAFE_MESSAGE]?: unknown })[SAFE_MESSAGE] === true;

/** Node's and libuv's error codes (ECONNRESET, ERR_INVALID_URL…): a fixed vocabulary, safe to log. */
const NODE_CODE = /^(E[A-Z0-9]{2,31}|ERR_[A-Z0-9_]{1,60})$/;

/** An error's class: drizzle's errors keep the name `Error`, so the constructor's name is asked first. */
const className = (e: Error) => (e.constructor.name && e.constructor.name !== 'Error' ? e.constructor.name : e.name || 'Error');

/** How many causes are described at most. */
const MAX_CHAIN = 5;

/**
 * What may be logged of an unexpected error: the classes along its cause chain, the
 * SQLSTATE, constraint and table of a PostgreSQL server error (found by `postgresError`),
 * Node's error code (ECONNRESET…), where it was thrown, and a message only from a class
 * known to be safe ({@link SAFE_MESSAGE}). Never the message of anything else (a dropped
 * connection surfaces as drizzle's `Failed query: … params: …`) nor the whole stack.
 */
export function describeForLog(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { errorType: typeof err };
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < MAX_CHAIN; e = e.cause) chain.push(e);
  const db = postgresError(err);
  const nodeCode = chain
    .filter((e) => e !== db)
    .map((e) => (e as { code?: unknown }).code)
    .find((c): c is string => typeof c === 'string' && NODE_CODE.test(c));
  const safe = chain.find(hasSafeMessage);
  const frame = err.stack
    ?.split('\n')
    .find((l) => l.trim().startsWith('at '))
    ?.trim();
  return {
    errorType: chain.map(className).join(' <- '),
    ...(db ? { sqlState: db.code, constraint: db.constraint, table: db.table } : {}),
    ...(nodeCode ? { errorCode: nodeCode } : {}),
    ...(safe ? { errorMessage: safe.message.slice(0, 200) } : {}),
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
