import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startProcess } from '../helpers/process.ts';
import { testEnv } from '../helpers/server.ts';

describe('shutting down with heavy work in flight', () => {
  let server: ReturnType<typeof startProcess> | undefined;
  after(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  });

  test('SIGTERM waits out the grace period, then stops the worker and exits 0', { timeout: 180_000 }, async () => {
    // The suite's databases (already migrated): no embedded database to create, so the start is quick.
    server = startProcess({
      DATABASE_URL: testEnv().DATABASE_URL!,
      AUTH_DATABASE_URL: testEnv().AUTH_DATABASE_URL!,
      MIGRATE_ON_START: 'false',
      PORT: '0',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      WORKER_THREADS: '1',
      SHUTDOWN_TIMEOUT_MS: '1000',
      SELF_TEST_MAX_ITERATIONS: '1000000000',
    });
    const url = String((await server.waitFor('Strongroom is ready', 90_000)).url);
    const heavy = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ systemSelfTest(iterations: 900000000) { digest } }' }),
    }).then(
      (res) => res.status,
      (error: unknown) => error,
    );
    // Wait until the worker has the task, so the request is truly in flight.
    for (;;) {
      const metrics = await (await fetch(`${new URL(url).origin}/metrics`)).text();
      if (/^strongroom_worker_threads_busy 1$/m.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'the worker thread did not keep the process alive');
    assert.ok((await heavy) instanceof Error, 'the connection was closed after the grace period');
    assert.ok(server.lines.some((l) => l.msg === 'stopped'));
  });
});
