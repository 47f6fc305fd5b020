/**
 * The one progress bar every command-line tool draws (db:seed, keys rotate, rollups rebuild,
 * importers): a phase label, a bar, the share done, counts, the rate and the time left.
 * On a terminal it redraws in place; on anything else (CI logs, files) it prints a line at
 * every tenth, so a log shows progress without thousands of lines. Written to stderr, so
 * stdout stays for results.
 */

export interface ProgressBar {
  /** Reports `done` of `total` (total may change, e.g. when a count was estimated). */
  update(done: number, total?: number): void;
  /** Ends the bar: the last line is drawn at 100% of what was done. */
  finish(): void;
}

export interface ProgressOptions {
  /** Shown before the bar, e.g. `events` or `rotate`. */
  readonly label: string;
  readonly total: number;
  /** Where to draw; default process.stderr. */
  readonly stream?: NodeJS.WriteStream;
  /** The clock in milliseconds (tests pass their own); default performance.now. */
  readonly now?: () => number;
}

const WIDTH = 30;

/** `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One line of the bar: label, bar, percent, counts, rate and ETA (once something is done). */
export function progressLine(label: string, done: number, total: number, elapsedSeconds: number): string {
  const fraction = total <= 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(fraction * WIDTH);
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const tail = done > 0 && rate > 0 ? ` ${Math.round(rate).toLocaleString('en')}/s ETA ${formatDuration((total - done) / rate)}` : '';
  return `${label.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')}${tail}`;
}

/** Creates a bar; call `update` as work is done and `finish` at the end. */
export function createProgress(options: ProgressOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const started = now();
  let total = options.total;
  let last = 0;
  let lastTenth = -1;
  let finished = false;
  const draw = (done: number, final: boolean) => {
    const line = progressLine(options.label, done, total, (now() - started) / 1000);
    if (stream.isTTY) {
      stream.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    const tenth = total <= 0 ? 10 : Math.floor((done / total) * 10);
    if (tenth !== lastTenth || final) stream.write(`${line}\n`);
    lastTenth = tenth;
  };
  return {
    update(done, newTotal) {
      if (finished) return;
      if (newTotal !== undefined) total = newTotal;
      last = done;
      draw(done, false);
    },
    finish() {
      if (finished) return;
      finished = true;
      if (total < last) total = last;
      draw(last, true);
    },
  };
}
