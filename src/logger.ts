/** Structured JSON logs (pino). Secrets are redacted by key wherever they appear. */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

/** Keys whose values never reach a log line, at any depth we log. */
export const REDACTED_KEYS = ['password', 'newPassword', 'code', 'token', 'accessToken', 'refreshToken', 'secret', 'authorization', 'cookie', 'licenceKey'];

/** Creates the process logger; `destination` is for tests that read the lines. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `req.headers.${k}`]);
  return pino(
    {
      level,
      base: { service: 'strongroom' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
