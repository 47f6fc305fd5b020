/**
 * Command-line options shared by benchmarks: `npm run bench -- NAME --duration=2 --rounds=1`.
 * `bench/run.ts` passes them to every benchmark it runs, so each benchmark accepts all of
 * them: it uses them, or says with {@link noteUnusedOptions} which ones do not apply to it.
 * Unknown options are ignored by {@link benchOptions}; a benchmark with options of its own
 * parses strictly with {@link SHARED_OPTIONS} beside them, so a typo is still an error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The shared options as node:util parseArgs declares them. */
export const SHARED_OPTIONS = {
  duration: { type: 'string' },
  rounds: { type: 'string' },
  warmup: { type: 'string' },
  connections: { type: 'string' },
  'cpu-prof-dir': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export type SharedOption = keyof typeof SHARED_OPTIONS;

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
  const { values } = parseArgs({ args: [...argv], strict: false, options: SHARED_OPTIONS });
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    durationSeconds: positive('duration', str(values.duration), 5),
    rounds: positive('rounds', str(values.rounds), 3),
    warmupSeconds: positive('warmup', str(values.warmup), 3, 0),
    connections: positive('connections', str(values.connections), 10),
    cpuProfileDir: str(values['cpu-prof-dir']),
  };
}

/**
 * Prints a `# …` note naming the shared options given on the command line that this
 * benchmark does not use (nothing when none was given), so a reader of a whole
 * `npm run bench -- --duration=2` run knows which figures the option did not shorten.
 */
export function noteUnusedOptions(benchmark: string, unused: readonly SharedOption[], why: string, argv: readonly string[] = process.argv.slice(2)): void {
  const given = unused.filter((name) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`)));
  if (given.length > 0) process.stdout.write(`# ${benchmark} ignores ${given.map((n) => `--${n}`).join(', ')}: ${why}\n`);
}
