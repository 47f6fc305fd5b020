/**
 * The one output format every benchmark shares. `bench/run.ts` collects these lines; the last
 * one printed for a metric is its result.
 *
 *   BENCH <metric> ours=<number><unit> baseline=<number><unit> ratio=<number>
 *
 * `ratio` is ours ÷ baseline for "higher is better" metrics (throughput) and baseline ÷ ours for
 * "lower is better" ones (latency, time), so a ratio above 1 always means we are better.
 */

/** A finished measurement of one metric: our figure beside the baseline's, both from the same run. */
export interface BenchResult {
  /** Lower-case, dash-separated, unique across the benchmarks, e.g. `trivial-query-rps`. */
  readonly metric: string;
  readonly ours: number;
  readonly baseline: number;
  /** Printed right after each number, e.g. `req/s`, `ms`, `ops/s`. No spaces. */
  readonly unit: string;
  /** `higher` (throughput, the default) or `lower` (latency, duration). */
  readonly better?: 'higher' | 'lower';
}

/** A BENCH line as parsed back by the runner. */
export interface ParsedBenchLine {
  readonly metric: string;
  readonly ours: number;
  readonly baseline: number;
  readonly unit: string;
  readonly ratio: number;
}

const METRIC = /^[a-z0-9][a-z0-9-]*$/;
const UNIT = /^[^\s\d=][^\s=]*$/;
const NUMBER = String.raw`-?\d+(?:\.\d+)?(?:e[+-]?\d+)?`;
const LINE = new RegExp(String.raw`^BENCH (\S+) ours=(${NUMBER})(\S*) baseline=(${NUMBER})(\S*) ratio=(${NUMBER})\s*$`);

/** Rounds to at most `digits` significant figures, without exponent notation for everyday sizes. */
function round(value: number, digits = 4): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(Math.min(decimals, 6));
}

/** The ratio as defined above (a ratio above 1 means ours is better). */
export function ratioOf(result: Pick<BenchResult, 'ours' | 'baseline' | 'better'>): number {
  return result.better === 'lower' ? result.baseline / result.ours : result.ours / result.baseline;
}

/** Formats a BENCH line; throws a TypeError on a malformed metric, unit or number. */
export function formatBenchLine(result: BenchResult): string {
  if (!METRIC.test(result.metric)) throw new TypeError(`metric ${JSON.stringify(result.metric)} must be lower-case words joined by dashes`);
  if (!UNIT.test(result.unit)) throw new TypeError(`unit ${JSON.stringify(result.unit)} must be non-empty, start with a non-digit and contain no spaces`);
  for (const [name, value] of [
    ['ours', result.ours],
    ['baseline', result.baseline],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive finite number, got ${value}`);
  }
  const ratio = ratioOf(result);
  return `BENCH ${result.metric} ours=${round(result.ours)}${result.unit} baseline=${round(result.baseline)}${result.unit} ratio=${round(ratio, 3)}`;
}

/** Prints a BENCH line on stdout (its own line, so the runner can find it). */
export function printBenchLine(result: BenchResult): void {
  process.stdout.write(`${formatBenchLine(result)}\n`);
}

/** Parses one output line; undefined when it is not a BENCH line. */
export function parseBenchLine(line: string): ParsedBenchLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, metric, ours, unit, baseline, baselineUnit, ratio] = m as unknown as [string, string, string, string, string, string, string];
  if (!METRIC.test(metric) || unit !== baselineUnit) return undefined;
  return { metric, ours: Number(ours), baseline: Number(baseline), unit, ratio: Number(ratio) };
}
