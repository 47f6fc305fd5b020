/** Runs `src/main.ts` as a real child process, the way `npm start` does, and reads its JSON log. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly stderr: () => string;
  /**
   * Resolves with the first log line matching `msg` (default limit 90 s: opening a new embedded
   * data folder takes seconds, many more on a machine busy with other test runs).
   */
  waitFor(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Starts the server (or another entry point, such as `src/worker.ts`) with exactly `env` (plus
 * PATH/HOME), so the caller's DATABASE_URL does not leak in.
 */
export function startProcess(env: Record<string, string>, entry = 'src/main.ts'): RunningProcess {
  // As `npm start` (and `npm run worker`) run it.
  const child = spawn(process.execPath, ['--import', 'tsx/esm', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.filter((w) => w.msg === line.msg)) w.resolve(line);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    // Generous: creating a new embedded database is CPU-bound, and CI machines are shared.
    waitFor(msg, timeoutMs = 90_000) {
      const found = lines.find((l) => l.msg === msg);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${msg}" within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
        waiters.push({
          msg,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then((code) => reject(new Error(`exited with ${code} before "${msg}"; stderr: ${err}`)));
      });
    },
  };
}
