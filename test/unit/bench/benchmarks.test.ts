import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { benchOptions, noteUnusedOptions, SHARED_OPTIONS } from '../../../bench/lib/options.ts';
import { parseBenchLine } from '../../../bench/lib/report.ts';
import { discoverBenchmarks } from '../../../bench/lib/runner.ts';

const benchDir = path.resolve(import.meta.dirname, '../../../bench');
const sources = discoverBenchmarks(benchDir).map((name) => ({ name, text: readFileSync(path.join(benchDir, `${name}.ts`), 'utf8') }));

test('every benchmark prints its BENCH lines through printBenchLine, so a ratio above 1 always means ours is better', () => {
  assert.ok(sources.length >= 4);
  for (const { name, text } of sources) {
    assert.doesNotMatch(text, /[`'"]BENCH /, `${name} writes a BENCH line of its own`);
    assert.match(text, /printBenchLine\(/, `${name} prints no BENCH line through printBenchLine`);
  }
});

test('every benchmark reads the shared options, which the runner passes to all of them', () => {
  for (const { name, text } of sources) assert.match(text, /benchOptions\(\)/, `${name} does not read the shared options`);
});

test('a benchmark says which shared options it was given and does not use', () => {
  const written: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
  try {
    noteUnusedOptions('db-seed', ['duration', 'rounds', 'connections'], 'it writes a fixed number of events', ['--duration=2', '--rounds', '3', '--events=5']);
    noteUnusedOptions('db-seed', ['connections'], 'unused', ['--duration=2']);
  } finally {
    process.stdout.write = write;
  }
  assert.deepEqual(written, ['# db-seed ignores --duration, --rounds: it writes a fixed number of events\n']);
  assert.deepEqual(Object.keys(SHARED_OPTIONS).sort(), ['connections', 'cpu-prof-dir', 'duration', 'rounds', 'warmup']);
  assert.equal(benchOptions(['--duration=2', '--rounds=3', '--events=5']).rounds, 3);
  assert.throws(() => benchOptions(['--rounds=none']), TypeError);
});

test('db-seed accepts the runner’s --duration and --rounds and still measures', async () => {
  const args = ['--import', 'tsx', 'bench/db-seed.ts', '--events=200', '--licences=5', '--baseline-events=20', '--duration=2', '--rounds=3'];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: path.dirname(benchDir), env: { ...process.env, LOG_LEVEL: 'silent' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('exit', (status) => resolve({ code: status, stdout: out, stderr: err }));
  });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^# db-seed ignores --duration, --rounds: /m);
  const bench = stdout.split('\n').map(parseBenchLine).find(Boolean);
  assert.equal(bench?.metric, 'seed-events-per-second');
});
