/** A logger whose JSON lines a test can read back. */
import { Writable } from 'node:stream';
import type { LogLevel } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logger.ts';

export interface CapturedLogs {
  /** Every line logged so far, parsed, in order. */
  readonly lines: Record<string, unknown>[];
  readonly logger: Logger;
}

/** A real pino logger (our redaction and formatting) writing into `lines` instead of stdout. */
export function captureLogs(level: LogLevel = 'info'): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger(level, sink) };
}
