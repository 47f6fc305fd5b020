/**
 * `npm run bench [-- NAME… --option=value…]`: runs every benchmark in bench/ (each `*.ts`
 * there but this file; helpers live in bench/lib/), or only the named ones, one after another
 * (never two at once: they measure), each in its own process with its output streamed
 * through. Options (`--duration=2`…) are passed to every benchmark run.
 *
 * Each benchmark prints `BENCH <metric> ours=… baseline=… ratio=…` lines; the last one per
 * metric counts, and a summary table lists them at the end. Exit status: 0 when every
 * benchmark exited 0 and printed a BENCH line, 1 otherwise, 2 for an unknown name.
 */
import { discoverBenchmarks, runBenchmark, summaryTable, type Outcome } from './lib/runner.ts';

const BENCH_DIR = import.meta.dirname;

async function main(argv: readonly string[]): Promise<number> {
  const names = [...new Set(argv.filter((a) => !a.startsWith('-')).map((n) => n.replace(/^bench\//, '').replace(/\.ts$/, '')))];
  const args = argv.filter((a) => a.startsWith('-'));
  const available = discoverBenchmarks(BENCH_DIR);
  const unknown = names.filter((n) => !available.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown benchmark: ${unknown.join(', ')}. Available: ${available.join(', ') || 'none'}.\n`);
    return 2;
  }
  const selected = names.length > 0 ? names : available;
  if (selected.length === 0) {
    process.stderr.write('No benchmark in bench/.\n');
    return 1;
  }
  const outcomes: Outcome[] = [];
  for (const name of selected) {
    process.stdout.write(`\n=== ${name}\n`);
    outcomes.push(await runBenchmark(BENCH_DIR, name, { args }));
  }
  process.stdout.write(`\n=== summary (ratio above 1: ours is better)\n${summaryTable(outcomes)}\n`);
  return outcomes.every((o) => o.failure === undefined) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
