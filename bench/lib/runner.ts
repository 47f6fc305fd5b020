/**
 * What `npm run bench` does, as functions (bench/run.ts is the command line around them):
 * find the benchmarks in a folder, run one as its own process streaming its output, collect
 * its BENCH lines, and tabulate the outcomes.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseBenchLine, type ParsedBenchLine } from './report.ts';

export interface Outcome {
  readonly name: string;
  /** The last BENCH line per metric, in the order the metrics first appeared. */
  readonly results: ReadonlyMap<string, ParsedBenchLine>;
  /** Why it failed; undefined when it passed. */
  readonly failure: string | undefined;
  readonly seconds: number;
}

export interface RunOptions {
  /** Arguments passed to the benchmark after its path. */
  readonly args?: readonly string[];
  /** Where its stdout lines go (default: this process's stdout). */
  readonly output?: (line: string) => void;
  /** Stop it and count it as failed after this long (ms); default 30 minutes. */
  readonly timeoutMs?: number;
  /** Its stderr: passed through (default) or dropped. */
  readonly stderr?: 'inherit' | 'ignore';
}

/**
 * Benchmark names in `dir`: every `*.ts` file directly in it except `run.ts` (sub-folders such
 * as `lib/` hold helpers and are not searched), sorted.
 */
export function discoverBenchmarks(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && e.name !== 'run.ts')
    .map((e) => e.name.slice(0, -'.ts'.length))
    .sort();
}

/**
 * Runs `node --import tsx <dir>/<name>.ts ...args` to completion. It fails when it cannot
 * start, exits non-zero or by a signal, runs past the timeout, or prints no BENCH line.
 * Its stderr is passed through untouched unless `options.stderr` says otherwise.
 */
export function runBenchmark(dir: string, name: string, options: RunOptions = {}): Promise<Outcome> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const output = options.output ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const results = new Map<string, ParsedBenchLine>();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, `${name}.ts`), ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output(line);
      const parsed = parseBenchLine(line);
      if (parsed) {
        results.delete(parsed.metric); // a later line for a metric replaces the earlier one
        results.set(parsed.metric, parsed);
      }
    });
    const finish = (failure: string | undefined) => {
      clearTimeout(timer);
      resolve({ name, results, failure, seconds: (performance.now() - started) / 1000 });
    };
    child.once('error', (err) => finish(`could not start: ${err.message}`));
    // 'close' rather than 'exit': by then every line of its stdout has been read.
    child.once('close', (code, signal) => {
      if (timedOut) finish(`timed out after ${Math.round(timeoutMs / 1000)} s`);
      else if (signal) finish(`killed by ${signal}`);
      else if (code !== 0) finish(`exited with status ${code}`);
      else if (results.size === 0) finish('printed no BENCH line');
      else finish(undefined);
    });
  });
}

/** A plain-text table of every metric of every outcome, with each benchmark's status. */
export function summaryTable(outcomes: readonly Outcome[]): string {
  const rows = [['benchmark', 'metric', 'ours', 'baseline', 'ratio', 'status']];
  for (const o of outcomes) {
    const status = o.failure ? `FAILED: ${o.failure}` : `ok (${Math.round(o.seconds)} s)`;
    if (o.results.size === 0) rows.push([o.name, '-', '-', '-', '-', status]);
    for (const r of o.results.values()) rows.push([o.name, r.metric, `${r.ours}${r.unit}`, `${r.baseline}${r.unit}`, String(r.ratio), status]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const numeric = new Set([2, 3, 4]);
  return rows
    .map((r) =>
      r
        .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
