/**
 * Deferred work over real HTTP: `systemSelfTest` hands its hashing to the server's worker
 * pool. A client that goes away, a saturated pool, a timeout and a burst of heavy requests.
 * The field needs sign-in: every request carries a token from the first sign-in step.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { iteratedSha256 } from '../../src/workers/tasks/self-test.ts';
import { watchDeferred } from '../helpers/deferred.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { signedInHeaders } from '../helpers/users.ts';

/** Enough SHA-256 rounds to keep a worker busy for many minutes: only a timeout or an abort ends it. */
const ENDLESS = 500_000_000;

interface SelfTest {
  systemSelfTest: { iterations: number; digest: string; durationMs: number; workerThreadId: number };
}

const SELF_TEST = 'query SelfTest($n: Int) { systemSelfTest(iterations: $n) { iterations digest durationMs workerThreadId } }';

/** Sign-in mail (the code, the new-sign-in notice) goes to an outbox under this folder. */
let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-deferred-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

/** A test server whose mail goes to the temporary outbox, and headers signing a new user in to it. */
async function start(env: Record<string, string>): Promise<{ s: TestServer; auth: Record<string, string> }> {
  const s = await startTestServer({ DATA_DIR: dataDir, ...env });
  return { s, auth: await signedInHeaders(s) };
}

/** A POST /graphql the test can cut off, as a client closing its connection would. */
function abortableRequest(s: TestServer, query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const client = new AbortController();
  const response = fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: client.signal,
  }).catch((e: unknown) => e);
  return { disconnect: () => client.abort(), response };
}

/** Occupies the pool directly (the same pool the server uses) with work that only `release()` ends. */
function occupy(s: TestServer, count: number) {
  const holder = new AbortController();
  const tasks = Array.from({ length: count }, () =>
    s.pool.defer({ kind: 'selfTest', input: { iterations: ENDLESS } }, { signal: holder.signal }).catch(() => 'released'),
  );
  return {
    async release() {
      holder.abort();
      await Promise.all(tasks);
    },
  };
}

async function metricValue(s: TestServer, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('deferred work over HTTP', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  before(async () => {
    ({ s, auth } = await start({
      WORKER_THREADS: '1',
      WORKER_MAX_QUEUE: '8',
      WORKER_QUEUE_HIGH_WATER: '1',
      SELF_TEST_MAX_ITERATIONS: String(ENDLESS),
    }));
  });
  after(() => s.close());

  test('without a token systemSelfTest is UNAUTHENTICATED, and nothing reaches the pool', async () => {
    const events: string[] = [];
    const unobserve = s.pool.observe((e) => events.push(e.type));
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer not-a-token' }];
    for (const headers of attempts) {
      const res = await s.gql<SelfTest>(SELF_TEST, { n: ENDLESS }, headers);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(headers));
      assert.deepEqual(res.body.errors?.[0]?.path, ['systemSelfTest']);
      assert.equal(res.body.data, null);
    }
    unobserve();
    assert.deepEqual(events, [], 'no task was queued, started or refused');
    assert.deepEqual({ running: s.pool.stats().running, queued: s.pool.stats().queued }, { running: 0, queued: 0 });
    assert.equal(await metricValue(s, 'strongroom_worker_tasks_total{kind="selfTest",outcome="ok"}'), 0);
  });

  test('systemSelfTest hashes on a worker thread and answers with the digest', async () => {
    const watch = watchDeferred(s.pool);
    const response = s.gql<SelfTest>(SELF_TEST, { n: 5000 }, auth);
    const task = await watch.asyncStarted({ kind: 'selfTest' });
    assert.notEqual(task.phase, 'settled', 'the request is pending while the worker hashes');
    assert.equal((await watch.asyncDispatch(task)).outcome, 'ok');
    const res = await response;
    assert.equal(res.status, 200);
    assert.equal(res.body.data?.systemSelfTest.digest, iteratedSha256(5000));
    assert.equal(res.body.data?.systemSelfTest.iterations, 5000);
    assert.ok(s.pool.threadIds().includes(res.body.data!.systemSelfTest.workerThreadId), 'a pool thread ran it');
    watch.stop();
  });

  test('an iteration count out of range is BAD_USER_INPUT naming the argument, and nothing is deferred', async () => {
    const watch = watchDeferred(s.pool);
    for (const n of [0, -5, ENDLESS + 1]) {
      const res = await s.gql(SELF_TEST, { n }, auth);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `iterations ${n}`);
      assert.equal(res.body.errors?.[0]?.extensions?.field, 'iterations');
    }
    assert.equal(watch.settled().length, 0);
    watch.stop();
  });

  test('a client that disconnects while its task runs gets its worker stopped, and the pool replaces it', async () => {
    const watch = watchDeferred(s.pool);
    const [threadBefore] = s.pool.threadIds();
    const request = abortableRequest(s, SELF_TEST, { n: ENDLESS }, auth);
    const task = await watch.asyncStarted({ kind: 'selfTest', phase: 'running' });
    request.disconnect();
    assert.ok((await request.response) instanceof Error);
    const outcome = await watch.asyncDispatch(task);
    assert.equal(outcome.outcome, 'cancelled');
    assert.equal(watch.workerExits().stopped, 1);
    assert.ok(!s.pool.threadIds().includes(threadBefore!), 'the thread that ran it is gone');
    const next = await s.gql<SelfTest>(SELF_TEST, { n: 10 }, auth);
    assert.equal(next.body.data?.systemSelfTest.digest, iteratedSha256(10), 'the replacement serves');
    watch.stop();
  });

  test('a client that disconnects while its task waits gets it removed from the queue, unrun', async () => {
    const busy = occupy(s, 1);
    const watch = watchDeferred(s.pool);
    const request = abortableRequest(s, SELF_TEST, { n: 10 }, auth);
    const task = await watch.asyncStarted({ kind: 'selfTest', phase: 'queued' });
    assert.equal(s.pool.stats().queued, 1);
    request.disconnect();
    const outcome = await watch.asyncDispatch(task);
    assert.equal(outcome.outcome, 'cancelled');
    assert.equal(outcome.runMs, undefined);
    assert.equal(s.pool.stats().queued, 0);
    assert.equal(watch.workerExits().stopped, 0, 'the running task was not disturbed');
    await busy.release();
    watch.stop();
  });

  test('when the queue is past its high-water mark a heavy operation is refused whole, before any resolver runs; light ones still run', async () => {
    const busy = occupy(s, 3); // one running, two waiting: past WORKER_QUEUE_HIGH_WATER=1
    const watch = watchDeferred(s.pool);
    const heavy = await s.gql('query Mixed { health { status } systemSelfTest(iterations: 10) { digest } }', {}, auth);
    assert.equal(heavy.status, 503);
    assert.equal(heavy.body.errors?.[0]?.extensions?.code, 'SERVER_BUSY');
    const retryAfter = heavy.body.errors?.[0]?.extensions?.retryAfter as number;
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1);
    assert.equal(heavy.headers.get('retry-after'), String(retryAfter));
    assert.equal(heavy.body.errors?.[0]?.extensions?.cost, 1);
    assert.equal(heavy.body.data, undefined, 'no field ran, not even the light one');
    assert.equal(watch.settled().length, 0, 'nothing was deferred');
    assert.equal(s.pool.stats().queued, 2);

    const light = await s.gql<{ health: { status: string } }>('{ health { status } }');
    assert.equal(light.status, 200);
    assert.equal(light.body.data?.health.status, 'OK');

    await busy.release();
    const admitted = await s.gql<SelfTest>(SELF_TEST, { n: 10 }, auth);
    assert.equal(admitted.body.data?.systemSelfTest.digest, iteratedSha256(10), 'admitted again once the queue drains');
    watch.stop();
  });

  test('the refused operation is logged and counted with its outcome', async () => {
    assert.ok(s.logs.some((l) => l.operationName === 'Mixed' && l.outcome === 'SERVER_BUSY'));
    assert.equal(await metricValue(s, 'strongroom_graphql_operation_duration_seconds_count{operation="Mixed",outcome="SERVER_BUSY"}'), 1);
  });
});

describe('a heavy task past its time limit', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  before(async () => {
    ({ s, auth } = await start({ WORKER_THREADS: '1', WORKER_TASK_TIMEOUTS: 'selfTest=300', SELF_TEST_MAX_ITERATIONS: String(ENDLESS) }));
  });
  after(() => s.close());

  test('is TIMEOUT for the client; the worker is stopped and the pool recovers', async () => {
    const watch = watchDeferred(s.pool);
    const res = await s.gql<SelfTest>(SELF_TEST, { n: ENDLESS }, auth);
    assert.equal(res.status, 200);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'TIMEOUT');
    assert.equal(res.body.errors?.[0]?.extensions?.timeoutMs, 300);
    assert.equal(res.body.data, null);
    assert.equal(watch.workerExits().stopped, 1);
    // The 300 ms limit counts waiting, and a replacement thread takes a moment to boot: wait for it.
    await watch.workersReady(1);
    const next = await s.gql<SelfTest>(SELF_TEST, { n: 10 }, auth);
    assert.equal(next.body.data?.systemSelfTest.digest, iteratedSha256(10));
    assert.equal(await metricValue(s, 'strongroom_worker_tasks_total{kind="selfTest",outcome="timeout"}'), 1);
    assert.equal(await metricValue(s, 'strongroom_worker_exits_total{reason="stopped"}'), 1);
    watch.stop();
  });
});

describe('100 concurrent heavy requests with a queue of 8', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  before(async () => {
    // A generous time limit: on a busy machine the low-priority workers are slow, and a
    // TIMEOUT here would hide the outcomes under test.
    ({ s, auth } = await start({ WORKER_THREADS: '2', WORKER_MAX_QUEUE: '8', WORKER_QUEUE_HIGH_WATER: '1000', WORKER_TASK_TIMEOUT_MS: '120000' }));
  });
  after(() => s.close());

  test('each either finishes or gets SERVER_BUSY; none hangs and none is lost', async () => {
    const watch = watchDeferred(s.pool);
    const rounds = (i: number) => 40_000 + i; // tens of ms each: the burst outruns two threads
    const answers: [number, string][] = [];
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const res = await fetch(`${s.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({ query: SELF_TEST, variables: { n: rounds(i) } }),
          signal: AbortSignal.timeout(150_000), // a hang fails the test instead of stalling it
        });
        const body = (await res.json()) as { data?: SelfTest | null; errors?: { extensions: { code: string; retryAfter?: number } }[] };
        if (body.data?.systemSelfTest) {
          answers.push([i, body.data.systemSelfTest.digest]);
          return 'ok';
        }
        const error = body.errors?.[0]?.extensions;
        if (error?.code === 'SERVER_BUSY') assert.ok((error.retryAfter ?? 0) >= 1);
        return error?.code ?? 'no answer';
      }),
    );
    const counts = Object.fromEntries(['ok', 'SERVER_BUSY'].map((k) => [k, results.filter((r) => r === k).length]));
    assert.equal(counts.ok! + counts.SERVER_BUSY!, 100, `unexpected outcomes: ${JSON.stringify(results.filter((r) => r !== 'ok' && r !== 'SERVER_BUSY'))}`);
    assert.ok(counts.ok! >= 10, 'at least the threads and the queue were served');
    assert.ok(counts.SERVER_BUSY! >= 1, 'the burst overflowed the queue');
    for (const [i, digest] of answers.slice(0, 5)) assert.equal(digest, iteratedSha256(rounds(i)), `request ${i} got its own answer`);
    const settled = watch.settled();
    assert.equal(settled.length, 100, 'the pool accounted for every request');
    assert.equal(settled.filter((e) => e.outcome === 'ok').length, counts.ok);
    assert.equal(settled.filter((e) => e.outcome === 'busy').length, counts.SERVER_BUSY);
    assert.deepEqual({ running: s.pool.stats().running, queued: s.pool.stats().queued }, { running: 0, queued: 0 });
    assert.equal(await metricValue(s, 'strongroom_worker_tasks_total{kind="selfTest",outcome="busy"}'), counts.SERVER_BUSY);
    watch.stop();
  });
});
