import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import { hashPassword } from '../../src/crypto/passwords.ts';
import { openDatabase } from '../../src/db/client.ts';
import { createUserStore } from '../../src/services/auth/users.ts';
import { startProcess } from '../helpers/process.ts';
import { masterKeyEnv, testEnv } from '../helpers/server.ts';

/**
 * A new USER in the suite's auth database. Not the first-admin bootstrap (ADMIN_EMAIL): the
 * suite's database is shared, and another test file may already have made an admin there.
 */
async function aUserInSuiteDatabase(): Promise<{ email: string; password: string }> {
  const config = parseConfig(testEnv());
  const auth = await openDatabase('auth', { connectionString: config.authDatabaseUrl ?? config.databaseUrl }, 1);
  try {
    const id = randomUUID().slice(0, 8);
    const user = { email: `shutdown-${id}@example.test`, password: `correct horse ${id}` };
    const passwordHash = await hashPassword(user.password, { iterations: config.passwordIterations });
    await createUserStore(auth.db, () => new Date()).insert({ email: user.email, username: `shutdown-${id}`, role: 'USER', passwordHash });
    return user;
  } finally {
    await auth.pool.end();
  }
}

const SIGN_IN =
  'mutation S($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "shutdown-test") { tokens { accessToken } challenge { reason } } }';

describe('shutting down with heavy work in flight', () => {
  let server: ReturnType<typeof startProcess> | undefined;
  let dataDir: string | undefined;
  after(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('SIGTERM waits out the grace period, then stops the worker and exits 0', { timeout: 180_000 }, async () => {
    const user = await aUserInSuiteDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-shutdown-')); // the sign-in mail's outbox
    // The suite's databases (already migrated): no embedded database to create, so the start is quick.
    server = startProcess({
      DATA_DIR: dataDir,
      DATABASE_URL: testEnv().DATABASE_URL!,
      AUTH_DATABASE_URL: testEnv().AUTH_DATABASE_URL!,
      ...masterKeyEnv(),
      MIGRATE_ON_START: 'false',
      PORT: '0',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      WORKER_THREADS: '1',
      SHUTDOWN_TIMEOUT_MS: '1000',
      SELF_TEST_MAX_ITERATIONS: '1000000000',
    });
    const url = String((await server.waitFor('Strongroom is ready', 90_000)).url);
    // systemSelfTest needs sign-in: the first step (a new device, so a challenge) gives a token that satisfies @auth.
    const signedIn = (await (
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: SIGN_IN, variables: { e: user.email, p: user.password } }),
      })
    ).json()) as { data?: { signIn: { tokens: { accessToken: string }; challenge: { reason: string } | null } }; errors?: unknown[] };
    assert.ok(signedIn.data, JSON.stringify(signedIn.errors));
    assert.equal(signedIn.data.signIn.challenge?.reason, 'NEW_DEVICE');
    const heavy = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signedIn.data.signIn.tokens.accessToken}` },
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
