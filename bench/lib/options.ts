/**
 * Command-line options shared by benchmarks: `npm run bench -- NAME --duration=2 --rounds=1`.
 * Unknown options are ignored here (a benchmark may read its own with node:util parseArgs).
 */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Seconds per measured run; default 5. */
  readonly durationSeconds: number;
  /** Measured rounds per subject (ours, baseline), interleaved; default 3. */
  readonly rounds: number;
  /** Seconds of unmeasured warm-up per subject; default 3. */
  readonly warmupSeconds: number;
  /** Concurrent connections for HTTP load; default 10. */
  readonly connections: number;
  /** When set, servers under test write V8 CPU profiles into this folder. */
  readonly cpuProfileDir: string | undefined;
}

function positive(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new TypeError(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Parses the shared options from `argv` (default: this process's arguments). */
export function benchOptions(argv: readonly string[] = process.argv.slice(2)): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: false,
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
    },
  });
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    durationSeconds: positive('duration', str(values.duration), 5),
    rounds: positive('rounds', str(values.rounds), 3),
    warmupSeconds: positive('warmup', str(values.warmup), 3, 0),
    connections: positive('connections', str(values.connections), 10),
    cpuProfileDir: str(values['cpu-prof-dir']),
  };
}
