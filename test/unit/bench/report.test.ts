import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBenchLine, parseBenchLine } from '../../../bench/lib/report.ts';
import { percentile, summarize } from '../../../bench/lib/stats.ts';

test('a BENCH line carries ours, baseline and ours÷baseline for throughput', () => {
  assert.equal(
    formatBenchLine({ metric: 'trivial-query-rps', ours: 15234.56, baseline: 9876.5, unit: 'req/s' }),
    'BENCH trivial-query-rps ours=15235req/s baseline=9877req/s ratio=1.54',
  );
});

test('for lower-is-better metrics the ratio is baseline÷ours, so above 1 still means ours is better', () => {
  assert.equal(formatBenchLine({ metric: 'p99', ours: 2, baseline: 5, unit: 'ms', better: 'lower' }), 'BENCH p99 ours=2.000ms baseline=5.000ms ratio=2.50');
});

test('a formatted line parses back to the same figures', () => {
  const line = formatBenchLine({ metric: 'sign-in-latency', ours: 0.8123, baseline: 1.25, unit: 'ms', better: 'lower' });
  assert.deepEqual(parseBenchLine(line), { metric: 'sign-in-latency', ours: 0.8123, baseline: 1.25, unit: 'ms', ratio: 1.54 });
});

test('lines that are not BENCH lines, or whose units disagree, do not parse', () => {
  assert.equal(parseBenchLine('# BENCH x ours=1req/s baseline=1req/s ratio=1'), undefined);
  assert.equal(parseBenchLine('BENCH x ours=fast baseline=slow ratio=2'), undefined);
  assert.equal(parseBenchLine('BENCH x ours=1req/s baseline=1ms ratio=1'), undefined);
  assert.equal(parseBenchLine('BENCH Bad_Name ours=1req/s baseline=1req/s ratio=1'), undefined);
});

test('malformed results are a TypeError, not a misleading line', () => {
  assert.throws(() => formatBenchLine({ metric: 'x', ours: 0, baseline: 1, unit: 'req/s' }), TypeError);
  assert.throws(() => formatBenchLine({ metric: 'x', ours: Number.NaN, baseline: 1, unit: 'req/s' }), TypeError);
  assert.throws(() => formatBenchLine({ metric: 'two words', ours: 1, baseline: 1, unit: 'req/s' }), TypeError);
  assert.throws(() => formatBenchLine({ metric: 'x', ours: 1, baseline: 1, unit: 'req per s' }), TypeError);
});

test('percentiles interpolate between closest ranks and need no sorting', () => {
  const samples = [5, 1, 4, 2, 3];
  assert.equal(percentile(samples, 0), 1);
  assert.equal(percentile(samples, 50), 3);
  assert.equal(percentile(samples, 100), 5);
  assert.equal(percentile([10, 20], 25), 12.5);
  assert.deepEqual(samples, [5, 1, 4, 2, 3], 'the input is not reordered');
  const s = summarize([1, 2, 3, 4]);
  assert.deepEqual({ n: s.n, mean: s.mean, p50: s.p50, min: s.min, max: s.max }, { n: 4, mean: 2.5, p50: 2.5, min: 1, max: 4 });
  assert.ok(Math.abs(s.p95 - 3.85) < 1e-9 && Math.abs(s.p99 - 3.97) < 1e-9);
  assert.throws(() => percentile([], 50), TypeError);
  assert.throws(() => percentile([1], 101), TypeError);
});
