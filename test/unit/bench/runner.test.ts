import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { discoverBenchmarks, runBenchmark, summaryTable } from '../../../bench/lib/runner.ts';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/bench');
const benchDir = path.resolve(import.meta.dirname, '../../../bench');

test('discovery finds the scripts directly in the folder, not run.ts or helpers in lib/', () => {
  const found = discoverBenchmarks(benchDir);
  assert.ok(found.includes('trivial-query'));
  assert.ok(!found.includes('run'));
  assert.ok(!found.some((name) => name.includes('/') || name === 'report'));
  assert.deepEqual(discoverBenchmarks(fixtures), ['crashing', 'passing', 'silent']);
});

test('a passing benchmark streams its output, gets the arguments, and its last line per metric counts', async () => {
  const lines: string[] = [];
  const outcome = await runBenchmark(fixtures, 'passing', { args: ['--duration=1'], output: (line) => lines.push(line) });
  assert.equal(outcome.failure, undefined);
  assert.equal(lines[0], '# args: --duration=1');
  assert.equal(lines.length, 4);
  assert.deepEqual([...outcome.results.keys()], ['second-metric', 'first-metric']);
  assert.deepEqual(outcome.results.get('first-metric'), { metric: 'first-metric', ours: 120, baseline: 60, unit: 'req/s', ratio: 2 });
  const table = summaryTable([outcome]);
  assert.match(table, /^benchmark\s+metric\s+ours\s+baseline\s+ratio\s+status$/m);
  assert.match(table, /passing\s+first-metric\s+120req\/s\s+60req\/s\s+2\s+ok/);
});

test('a benchmark that prints no BENCH line fails', async () => {
  const outcome = await runBenchmark(fixtures, 'silent', { output: () => {} });
  assert.equal(outcome.failure, 'printed no BENCH line');
  assert.match(summaryTable([outcome]), /silent\s+-\s+-\s+-\s+-\s+FAILED: printed no BENCH line/);
});

test('a benchmark that crashes fails even after printing a BENCH line', async () => {
  const outcome = await runBenchmark(fixtures, 'crashing', { output: () => {}, stderr: 'ignore' });
  assert.equal(outcome.failure, 'exited with status 1');
  assert.equal(outcome.results.size, 1);
});

test('a benchmark that runs past its time limit is stopped and fails', async () => {
  const outcome = await runBenchmark(path.resolve(import.meta.dirname, '../../fixtures'), 'bench-hang', { output: () => {}, timeoutMs: 3000 });
  assert.match(outcome.failure ?? '', /^timed out after 3 s$/);
});
