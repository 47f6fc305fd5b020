import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { signedInHeaders } from '../helpers/users.ts';

async function scrape(s: TestServer): Promise<{ type: string; lines: string[] }> {
  const res = await fetch(`${s.url}/metrics`);
  assert.equal(res.status, 200);
  return { type: res.headers.get('content-type') ?? '', lines: (await res.text()).split('\n') };
}

const value = (lines: string[], series: string) => {
  const line = lines.find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('GET /metrics', () => {
  let s: TestServer;
  let other: TestServer;
  /** systemSelfTest needs sign-in; the SignIn operation takes the first of the operation names. */
  let auth: Record<string, string>;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-metrics-'));
    [s, other] = await Promise.all([
      startTestServer({ WORKER_THREADS: '2', WORKER_MAX_QUEUE: '16', METRICS_MAX_OPERATION_NAMES: '3', DATA_DIR: dataDir }),
      startTestServer({ WORKER_THREADS: '1' }),
    ]);
    auth = await signedInHeaders(s);
  });
  after(async () => {
    await Promise.all([s.close(), other.close()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  test('shows the pool: threads, utilisation, queue depth and capacity', async () => {
    const { type, lines } = await scrape(s);
    assert.match(type, /^text\/plain; version=0\.0\.4/);
    assert.equal(value(lines, 'strongroom_worker_threads'), 2);
    assert.equal(value(lines, 'strongroom_worker_threads_busy'), 0);
    assert.equal(value(lines, 'strongroom_worker_utilization_ratio'), 0);
    assert.equal(value(lines, 'strongroom_worker_queue_depth'), 0);
    assert.equal(value(lines, 'strongroom_worker_queue_capacity'), 16);
    for (const outcome of ['ok', 'timeout', 'cancelled', 'busy', 'failed']) {
      assert.equal(value(lines, `strongroom_worker_tasks_total{kind="selfTest",outcome="${outcome}"}`), 0);
    }
  });

  test('a deferred task shows up in the wait and run histograms and the outcome counter of its kind', async () => {
    const res = await s.gql('query Hash { systemSelfTest(iterations: 100) { digest } }', {}, auth);
    assert.equal(res.body.errors, undefined);
    const { lines } = await scrape(s);
    assert.equal(value(lines, 'strongroom_worker_tasks_total{kind="selfTest",outcome="ok"}'), 1);
    assert.equal(value(lines, 'strongroom_worker_task_wait_seconds_count{kind="selfTest"}'), 1);
    assert.equal(value(lines, 'strongroom_worker_task_run_seconds_count{kind="selfTest"}'), 1);
    assert.ok(value(lines, 'strongroom_worker_task_run_seconds_sum{kind="selfTest"}')! > 0);
    assert.equal(value(lines, 'strongroom_graphql_operation_duration_seconds_count{operation="Hash",outcome="ok"}'), 1);
  });

  test('event-loop lag is reported', async () => {
    const { lines } = await scrape(s);
    for (const name of ['p50', 'p99', 'max']) {
      const lag = value(lines, `strongroom_event_loop_lag_${name}_seconds`);
      assert.ok(lag !== undefined && lag >= 0 && lag < 60, `${name}: ${lag}`);
    }
    assert.ok(value(lines, 'strongroom_event_loop_lag_window_seconds')! > 0);
  });

  test('operation latency is labelled by name and outcome, with a bounded set of names', async () => {
    await s.gql('query Probe { health { status } }');
    await s.gql('query Probe { health { status } }');
    await s.gql('query Third { health { status } }'); // past METRICS_MAX_OPERATION_NAMES=3 (SignIn, Hash, Probe)
    await s.gql('{ health { status } }');
    await s.gql('query Broken { health { nope } }');
    await s.gql('{ systemSelfTest(iterations: 0) { digest } }', {}, auth);
    const { lines } = await scrape(s);
    assert.equal(value(lines, 'strongroom_graphql_operation_duration_seconds_count{operation="Probe",outcome="ok"}'), 2);
    assert.equal(value(lines, 'strongroom_graphql_operation_duration_seconds_count{operation="other",outcome="ok"}'), 1);
    assert.equal(value(lines, 'strongroom_graphql_operation_duration_seconds_count{operation="anonymous",outcome="ok"}'), 1);
    assert.equal(value(lines, 'strongroom_graphql_operation_duration_seconds_count{operation="unresolved",outcome="GRAPHQL_VALIDATION_FAILED"}'), 1);
    assert.equal(value(lines, 'strongroom_graphql_operation_duration_seconds_count{operation="anonymous",outcome="BAD_USER_INPUT"}'), 1);
    assert.ok(!lines.some((l) => l.includes('operation="Third"')));
  });

  test('each server has its own registry', async () => {
    const { lines } = await scrape(other);
    assert.equal(value(lines, 'strongroom_worker_threads'), 1);
    assert.equal(value(lines, 'strongroom_worker_tasks_total{kind="selfTest",outcome="ok"}'), 0);
    assert.ok(!lines.some((l) => l.includes('operation="Probe"')));
  });
});
