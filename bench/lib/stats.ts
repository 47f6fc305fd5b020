/** Small statistics for benchmark samples. Pure functions; no I/O. */

/**
 * The p-th percentile (0 ≤ p ≤ 100) of `samples` by linear interpolation between closest ranks
 * (the method of NumPy's default and of most spreadsheet PERCENTILE functions).
 * `samples` need not be sorted; throws a TypeError when it is empty or p is out of range.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new TypeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new TypeError(`percentile must be between 0 and 100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (rank - lower);
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new TypeError('mean of no samples');
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/** Mean, median, p95, p99, min and max of a set of samples. */
export function summarize(samples: readonly number[]): { n: number; mean: number; p50: number; p95: number; p99: number; min: number; max: number } {
  return {
    n: samples.length,
    mean: mean(samples),
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}
