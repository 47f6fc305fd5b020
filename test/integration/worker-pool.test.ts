/**
 * The worker pool on real worker threads (Piscina, TypeScript tasks loaded through tsx):
 * results, faults, limits and recovery. Fixture tasks live in test/fixtures/tasks/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { createWorkerPool, workerExecArgv, type WorkerPool, type WorkerPoolOptions } from '../../src/workers/pool.ts';
import { iteratedSha256 } from '../../src/workers/tasks/self-test.ts';
import { TEST_TASKS } from '../fixtures/tasks/index.ts';
import { watchDeferred } from '../helpers/deferred.ts';
import { captureLogs } from '../helpers/logs.ts';

type TestPool = WorkerPool<typeof TEST_TASKS>;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const open: TestPool[] = [];
after(() => Promise.all(open.map((p) => p.close())));

function pool(overrides: Partial<WorkerPoolOptions<typeof TEST_TASKS>> = {}) {
  const { lines: logs, logger } = captureLogs('debug');
  const p = createWorkerPool({
    tasks: TEST_TASKS,
    threads: 1,
    maxQueue: 8,
    timeoutMs: 20_000,
    maxOldGenerationMb: 64,
    recycleAfterTasks: 0,
    logger,
    ...overrides,
  });
  open.push(p);
  return { pool: p, logs };
}

let shared: ReturnType<typeof pool> | undefined;
/** One default pool for the tests that leave it idle: each new pool boots a thread. */
const sharedPool = () => (shared ??= pool());

/** The code of a rejected defer(), or 'resolved'. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return String((error as { extensions?: { code?: unknown } }).extensions?.code ?? (error as Error).message);
  }
}

describe('worker pool', () => {
  test('a task runs on a worker thread and returns plain data', async () => {
    const { pool: p } = sharedPool();
    const watch = watchDeferred(p);
    const result = p.defer({ kind: 'selfTest', input: { iterations: 2000 } });
    const started = await watch.asyncStarted({ kind: 'selfTest' });
    assert.notEqual(started.phase, 'settled', 'the promise is still pending while the worker runs');
    const outcome = await watch.asyncDispatch(started);
    assert.equal(outcome.outcome, 'ok');
    const value = await result;
    assert.equal(value.digest, iteratedSha256(2000));
    assert.ok(value.threadId > 0, 'ran off the main thread');
    assert.deepEqual(p.threadIds(), [value.threadId]);
  });

  test('a task that throws is INTERNAL_SERVER_ERROR with a masked message; the class and place of the cause are logged, not its message, and the pool keeps serving', async () => {
    const { pool: p, logs } = sharedPool();
    const error = await p
      .defer({ kind: 'throws', input: { message: 'secret detail 7f3a' } })
      .catch((e: unknown) => e as { message: string; extensions: Record<string, unknown> });
    assert.equal(error.extensions.code, 'INTERNAL_SERVER_ERROR');
    assert.doesNotMatch(error.message, /secret detail/);
    const line = logs.find((l) => l.msg === 'worker task failed' && l.correlationId === error.extensions.correlationId);
    assert.ok(line, 'the log line carries the correlation id the client got');
    assert.equal(line?.kind, 'throws');
    assert.equal(line?.workerDied, false);
    // A plain Error's message may hold anything the task was given: the log names its class and place, not its text.
    assert.equal(line?.errorType, 'Error');
    assert.equal(line?.errorMessage, undefined);
    assert.doesNotMatch(JSON.stringify(line), /secret detail/);
    assert.equal((await p.defer({ kind: 'sleep', input: { ms: 1 } })).threadId > 0, true);
  });

  test('a task that never ends times out, its thread is stopped and replaced, and the pool recovers', async () => {
    const { pool: p } = sharedPool();
    const watch = watchDeferred(p);
    const [before] = p.threadIds();
    const result = p.defer({ kind: 'forever', input: {} }, { timeoutMs: 300 });
    await watch.asyncStarted({ kind: 'forever', phase: 'running' });
    assert.equal(await codeOf(result), 'TIMEOUT');
    assert.equal(watch.workerExits().stopped, 1);
    const next = await p.defer({ kind: 'sleep', input: { ms: 1 } });
    assert.notEqual(next.threadId, before, 'a new thread serves');
    assert.ok(!p.threadIds().includes(before!), 'the spinning thread is gone');
  });

  test('time spent in the queue counts toward the time limit', async () => {
    const { pool: p } = sharedPool();
    const watch = watchDeferred(p);
    const first = p.defer({ kind: 'sleep', input: { ms: 600 } });
    const second = p.defer({ kind: 'sleep', input: { ms: 1 } }, { timeoutMs: 150 });
    assert.equal(await codeOf(second), 'TIMEOUT');
    const timedOut = watch.settled().find((s) => s.outcome === 'timeout')!;
    assert.equal(timedOut.runMs, undefined, 'it never reached a worker');
    assert.equal(await codeOf(first), 'resolved', 'the running task was not disturbed');
  });

  test('onTimeout gives a fallback value instead of an error, like DeferredResult(timeout, timeoutResult)', async () => {
    const { pool: p } = sharedPool();
    const value = await p.defer({ kind: 'sleep', input: { ms: 5000 } }, { timeoutMs: 100, onTimeout: () => ({ threadId: -1 }) });
    assert.deepEqual(value, { threadId: -1 });
  });

  test('a task that allocates past its memory limit fails, its thread is replaced, and the pool keeps serving', async () => {
    const { pool: p, logs } = pool({ maxOldGenerationMb: 32 });
    const watch = watchDeferred(p);
    assert.equal(await codeOf(p.defer({ kind: 'allocate', input: { chunkElements: 1 << 20 } })), 'INTERNAL_SERVER_ERROR');
    assert.equal(watch.workerExits().crashed, 1);
    assert.equal(logs.find((l) => l.msg === 'worker task failed')?.workerDied, true);
    assert.equal(await codeOf(p.defer({ kind: 'sleep', input: { ms: 1 } })), 'resolved');
  });

  test('aborting a queued task removes it from the queue before it runs', async () => {
    const { pool: p } = sharedPool();
    const watch = watchDeferred(p);
    const running = p.defer({ kind: 'sleep', input: { ms: 400 } });
    const controller = new AbortController();
    const queued = p.defer({ kind: 'sleep', input: { ms: 1 } }, { signal: controller.signal });
    const task = await watch.asyncStarted({ phase: 'queued' });
    assert.equal(p.stats().queued, 1);
    controller.abort();
    assert.equal(await codeOf(queued), 'CANCELLED');
    assert.equal(p.stats().queued, 0);
    assert.deepEqual((await watch.asyncDispatch(task)).runMs, undefined);
    assert.deepEqual(task.history, ['queued', 'settled']);
    assert.equal(await codeOf(running), 'resolved');
  });

  test('aborting a running task stops its worker thread', async () => {
    const { pool: p } = sharedPool();
    const watch = watchDeferred(p);
    const [before] = p.threadIds();
    const controller = new AbortController();
    const result = p.defer({ kind: 'forever', input: {} }, { signal: controller.signal });
    const task = await watch.asyncStarted({ phase: 'running' });
    controller.abort();
    assert.equal(await codeOf(result), 'CANCELLED');
    assert.equal((await watch.asyncDispatch(task)).outcome, 'cancelled');
    assert.equal(watch.workerExits().stopped, 1);
    const next = await p.defer({ kind: 'sleep', input: { ms: 1 } });
    assert.notEqual(next.threadId, before);
  });

  test('an already-aborted signal is refused without work', async () => {
    const { pool: p } = sharedPool();
    assert.equal(await codeOf(p.defer({ kind: 'sleep', input: { ms: 1 } }, { signal: AbortSignal.abort() })), 'CANCELLED');
    assert.equal(p.stats().running + p.stats().queued, 0);
  });

  test('a full queue refuses a new task at once, before any work, with SERVER_BUSY and retryAfter', async () => {
    const { pool: p } = pool({ maxQueue: 2 });
    const watch = watchDeferred(p);
    const controller = new AbortController();
    const accepted = [1, 2, 3].map(() => p.defer({ kind: 'sleep', input: { ms: 10_000 } }, { signal: controller.signal }).catch(() => 'gone'));
    assert.deepEqual(p.stats(), { threads: 1, configuredThreads: 1, running: 1, queued: 2, maxQueue: 2 });
    const eventsBefore = watch.settled().length;
    const refused = p.defer({ kind: 'sleep', input: { ms: 1 } }).then(
      () => assert.fail('should have been refused'),
      (e: unknown) => e as { extensions: Record<string, unknown> },
    );
    // Settled within the same turn of the event loop: no thread, timer or I/O was involved.
    const first = await Promise.race([refused, nextMacrotask().then(() => 'still pending')]);
    assert.notEqual(first, 'still pending');
    const error = await refused;
    assert.equal(error.extensions.code, 'SERVER_BUSY');
    assert.ok(Number.isInteger(error.extensions.retryAfter) && (error.extensions.retryAfter as number) >= 1);
    assert.equal(p.stats().queued, 2, 'nothing grew');
    assert.deepEqual(
      watch
        .settled()
        .slice(eventsBefore)
        .map((s) => s.outcome),
      ['busy'],
    );
    controller.abort();
    await Promise.all(accepted);
  });

  test('a worker is recycled after N tasks and no task is lost', async () => {
    const { pool: p } = pool({ recycleAfterTasks: 2 });
    const watch = watchDeferred(p);
    const threads: number[] = [];
    for (let i = 0; i < 5; i++) threads.push((await p.defer({ kind: 'sleep', input: { ms: 1 } })).threadId);
    assert.equal(threads[0], threads[1]);
    assert.notEqual(threads[1], threads[2]);
    assert.equal(threads[2], threads[3]);
    assert.notEqual(threads[3], threads[4]);
    assert.equal(watch.workerExits().recycled, 2);
    // Back to back, with the recycled thread still exiting, nothing fails.
    const burst = await Promise.all(Array.from({ length: 6 }, () => codeOf(p.defer({ kind: 'sleep', input: { ms: 1 } }))));
    assert.deepEqual(burst, Array(6).fill('resolved'));
  });

  test('close cancels queued and running tasks, refuses new ones and stops every thread', async () => {
    const { pool: p } = pool();
    const running = codeOf(p.defer({ kind: 'forever', input: {} }));
    const queued = codeOf(p.defer({ kind: 'sleep', input: { ms: 1 } }));
    await p.close();
    assert.equal(await running, 'CANCELLED');
    assert.equal(await queued, 'CANCELLED');
    assert.equal(await codeOf(p.defer({ kind: 'sleep', input: { ms: 1 } })), 'CANCELLED');
    assert.deepEqual(p.threadIds(), []);
  });

  test('an unknown kind is a TypeError (our own misuse)', async () => {
    const { pool: p } = sharedPool();
    await assert.rejects(p.defer({ kind: 'nope' as 'sleep', input: { ms: 1 } }), TypeError);
  });
});

describe('how worker threads load TypeScript', () => {
  test('a worker gets the whole of tsx when the main thread has only its ESM hook, and nothing else changes', () => {
    assert.deepEqual(workerExecArgv(['--import', 'tsx/esm']), ['--import', 'tsx']);
    assert.deepEqual(workerExecArgv(['--import=tsx/esm', '--max-old-space-size=512']), ['--import=tsx', '--max-old-space-size=512']);
    assert.equal(workerExecArgv(['--import', 'tsx', '--inspect']), undefined, 'already whole: workers inherit');
  });

  test('a process started as `npm start` starts it (tsx/esm) runs a task on a worker thread', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx/esm', 'test/fixtures/run-self-test.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout) as { digest: string; threadId: number };
    assert.equal(out.digest, iteratedSha256(3));
    assert.notEqual(out.threadId, 0, 'ran on a worker thread');
  });
});
