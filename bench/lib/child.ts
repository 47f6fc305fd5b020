/**
 * Servers under test run in their own process, so the load generator (in the benchmark's
 * process) never shares an event loop or a core's time slice with the server it measures.
 *
 * Parent side: {@link startServerProcess}. Child side: {@link serveForParent}. They talk over
 * Node's IPC channel: the child sends `{ type: 'ready', url }` once listening; the parent sends
 * `'stop'`, and the child closes its server and exits 0. A child whose parent goes away stops
 * by itself. The parent may also ask for the
 * child's CPU time (`'cpu'` → `{ type: 'cpu', usage }`), to turn a run into CPU per request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

export interface ServerProcess {
  /** Base URL the child listens on. */
  readonly url: string;
  readonly pid: number;
  /** Anything the child chose to report with its URL (e.g. where its database lives). */
  readonly info: Readonly<Record<string, unknown>>;
  /** The child's CPU time so far (user + system, microseconds), as `process.cpuUsage()` reports it there. */
  cpuMicros(): Promise<number>;
  /** Asks the child to close and waits for it to exit (SIGKILL after `timeoutMs`, default 15 s). */
  stop(timeoutMs?: number): Promise<void>;
}

export interface ServerProcessOptions {
  /** Arguments after the script path. */
  readonly args?: readonly string[];
  /**
   * Profile the child from `ready` to `stop` (startup excluded) and write the V8 CPU profile
   * into this folder as `<script>-<pid>.cpuprofile` (open it in Chrome DevTools).
   */
  readonly cpuProfileDir?: string;
  /** How long to wait for `ready` (ms); default 120 s (a first PGlite start can take seconds). */
  readonly startTimeoutMs?: number;
  /** Variables added to this process's environment for the child. */
  readonly env?: Readonly<Record<string, string>>;
}

interface ReadyMessage {
  type: 'ready';
  url: string;
  info?: Record<string, unknown>;
}

interface CpuMessage {
  type: 'cpu';
  usage: NodeJS.CpuUsage;
}

const isCpu = (m: unknown): m is CpuMessage => typeof m === 'object' && m !== null && (m as CpuMessage).type === 'cpu';

const isReady = (m: unknown): m is ReadyMessage =>
  typeof m === 'object' && m !== null && (m as ReadyMessage).type === 'ready' && typeof (m as ReadyMessage).url === 'string';

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Runs `node --import tsx/esm <script> ...args` and resolves once it reports its URL. The child's
 * stdout (the server's log lines) is read and discarded, as a log shipper would; its stderr is
 * passed through so failures are visible.
 */
export async function startServerProcess(script: string, options: ServerProcessOptions = {}): Promise<ServerProcess> {
  if (options.cpuProfileDir) await mkdir(options.cpuProfileDir, { recursive: true });
  const profile = options.cpuProfileDir ? [`--profile-dir=${path.resolve(options.cpuProfileDir)}`] : [];
  // Loaded as `npm start` loads the server (tsx's ESM hook only), whichever server it is.
  const child = spawn(process.execPath, ['--import', 'tsx/esm', script, ...profile, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  child.stdout!.resume();
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not report ready within ${options.startTimeoutMs ?? 120_000} ms`));
    }, options.startTimeoutMs ?? 120_000);
    child.on('message', (message) => {
      if (!isReady(message)) return;
      clearTimeout(timer);
      resolve(message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before it was ready (${signal ?? `status ${code}`})`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    url: ready.url,
    pid: child.pid!,
    info: Object.freeze({ ...ready.info }),
    cpuMicros() {
      return new Promise((resolve, reject) => {
        const onMessage = (message: unknown) => {
          if (!isCpu(message)) return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve(message.usage.user + message.usage.system);
        };
        const onExit = () => {
          child.off('message', onMessage);
          reject(new Error(`${script} exited`));
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send('cpu');
      });
    },
    stop(timeoutMs = 15_000) {
      stopping ??= (async () => {
        if (child.connected) child.send('stop');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited(child);
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** What a child entry point starts: something listening, and how to close it. */
export interface Served {
  readonly url: string;
  readonly info?: Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * Child side: starts the server, reports its URL to the parent and closes it when told to
 * (or when the parent disappears). Run directly (no IPC channel), it prints the URL on stderr
 * and stops on Ctrl-C, which is handy for poking at a baseline by hand.
 */
export async function serveForParent(start: () => Promise<Served>): Promise<void> {
  const served = await start();
  const profileDir = process.argv.find((a) => a.startsWith('--profile-dir='))?.slice('--profile-dir='.length);
  const profiler = profileDir ? await startProfiler() : undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      if (profiler && profileDir) {
        const name = `${path.basename(process.argv[1] ?? 'server', '.ts')}-${process.pid}.cpuprofile`;
        await writeFile(path.join(profileDir, name), JSON.stringify(await profiler.stop()));
      }
      await served.close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`close failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  };
  if (process.send) {
    process.on('message', (message) => {
      if (message === 'stop') void stop();
      else if (message === 'cpu') process.send!({ type: 'cpu', usage: process.cpuUsage() } satisfies CpuMessage);
    });
    process.once('disconnect', () => void stop());
    process.send({ type: 'ready', url: served.url, info: served.info } satisfies ReadyMessage);
  } else {
    process.stderr.write(`listening on ${served.url}\n`);
  }
  // Ctrl-C reaches the whole process group: close properly, so a benchmark database is dropped.
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function startProfiler(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}
