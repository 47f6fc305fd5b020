/** Structured JSON logs (pino). Secrets are redacted by key wherever they appear. */
import { destination, pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

/** Keys whose values never reach a log line, at any depth we log. */
export const REDACTED_KEYS = ['password', 'newPassword', 'code', 'token', 'accessToken', 'refreshToken', 'secret', 'authorization', 'cookie', 'licenceKey'];

/** What a redacted value is replaced with. */
export const CENSOR = '[redacted]';

/** How deep into a logged object keys are checked (the top level is depth 0). */
const REDACT_DEPTH = 4;

const SECRET_KEYS: ReadonlySet<string> = new Set(REDACTED_KEYS);

const isPlainObject = (value: object): value is Record<string, unknown> => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * Returns `value` with every property named in {@link REDACTED_KEYS} replaced by
 * {@link CENSOR}, in plain objects and arrays down to {@link REDACT_DEPTH} levels. Copies only
 * the objects on the way to a secret; the caller's objects are never changed.
 *
 * Why not pino's `redact` option: since pino 9.8 it is implemented by @pinojs/redact, which
 * clones the object for each of the ~40 wildcard paths a key list like ours needs; measured
 * here it cost ~70 µs per log line (and ~11 µs per child logger) — more than the rest of a
 * small GraphQL request. One walk over the keys does the same job in well under a microsecond
 * for the small objects we log, and covers every depth instead of the listed ones.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > REDACT_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const redacted = redactSecrets(item, depth + 1);
      if (redacted !== item) (copy ??= [...value])[i] = redacted;
    }
    return (copy ?? value) as T;
  }
  // Class instances (Errors, Buffers, Dates…) are not walked: pino's serializers or their own
  // toJSON write them. Our code logs errors through describeForLog(), which yields plain fields.
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = value[key];
    const redacted = SECRET_KEYS.has(key) ? CENSOR : redactSecrets(item, depth + 1);
    if (redacted !== item) (copy ??= { ...value })[key] = redacted;
  }
  return (copy ?? value) as T;
}

export interface LogDestinationOptions {
  /** Bytes of log lines gathered before one write (below 16384, sonic-boom's largest write); 0 writes each line synchronously as logged. */
  readonly bufferBytes: number;
  /** With a buffer, the longest a line waits before it is written (ms). */
  readonly flushMs: number;
  /** File descriptor or path; default 1 (stdout). */
  readonly dest?: number | string;
}

/**
 * The stream the process logs to. Unbuffered, every line costs a write(2), which for a small
 * GraphQL request is a visible share of the work (one operation line per request). Buffered,
 * lines are gathered and written together once `bufferBytes` are waiting or `flushMs` has
 * passed; what is still waiting at exit (normal, process.exit, or an uncaught exception) is
 * written by pino. A hard kill (SIGKILL, OOM) can lose the last `flushMs` of lines.
 *
 * Writes are synchronous either way, as Node's own stdout is for pipes and files: an
 * asynchronous write goes through libuv's thread pool, and waking a pool thread for every few
 * kilobytes cost more than the write itself (measured with bench/trivial-query.ts: ~9% of a
 * small request's CPU in the submitting call alone).
 */
export function logDestination(options: LogDestinationOptions): DestinationStream {
  const dest = options.dest ?? 1;
  if (options.bufferBytes <= 0) return destination({ dest, sync: true });
  return destination({ dest, sync: true, minLength: options.bufferBytes, periodicFlush: options.flushMs });
}

/**
 * pino's ISO timestamp, made once per millisecond: a busy server writes several lines in the
 * same millisecond, and `toISOString()` was the most expensive part of a line.
 */
function isoTimeCached(): () => string {
  let lastMs = -1;
  let last = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      last = `,"time":"${new Date(now).toISOString()}"`;
    }
    return last;
  };
}

/** Creates the process logger, writing to `destination` (default: stdout, unbuffered). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const logger = pino(
    {
      level,
      base: { service: 'strongroom' },
      formatters: { log: (object) => redactSecrets(object) },
      timestamp: isoTimeCached(),
    },
    destination,
  );
  // pino applies `formatters.bindings` to the root's base bindings only, so child bindings are
  // redacted here. Children are created with Object.create(parent), so every descendant
  // (Fastify's per-request loggers included) inherits this method.
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings, options) {
    return pinoChild.call(this, redactSecrets(bindings), options);
  } as Logger['child'];
  return logger;
}
