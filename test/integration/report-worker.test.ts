/**
 * `npm run worker` as real processes against the suite's database: a render worker killed
 * with SIGKILL in the middle of a report loses it when its lease runs out, and the report
 * completes in another worker; nothing stays RUNNING.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { createJobStore } from '../../src/services/reports/store.ts';
import { type RunningProcess, startProcess } from '../helpers/process.ts';
import { masterKeyEnv, testEnv } from '../helpers/server.ts';

describe('render worker processes', () => {
  const children: RunningProcess[] = [];
  let dir: string;
  let pool: pg.Pool;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-worker-'));
    pool = new pg.Pool({ connectionString: testEnv().DATABASE_URL, max: 2 });
  });
  after(async () => {
    for (const p of children) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await pool.end();
    await rm(dir, { recursive: true, force: true });
  });

  const worker = (env: Record<string, string> = {}) => {
    const { DATABASE_URL, AUTH_DATABASE_URL } = testEnv();
    const p = startProcess(
      {
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        DATA_DIR: dir,
        DATABASE_URL: DATABASE_URL!,
        AUTH_DATABASE_URL: AUTH_DATABASE_URL!,
        ...masterKeyEnv(),
        REPORT_POLL_MS: '100',
        ...env,
      },
      'src/worker.ts',
    );
    children.push(p);
    return p;
  };
  const row = async (id: string) =>
    (
      await pool.query<{ status: string; attempts: number; lease_owner: string | null }>(
        'select status, attempts, lease_owner from reporting.report_jobs where id = $1',
        [id],
      )
    ).rows[0]!;

  test('a worker killed with SIGKILL mid-report leaves it to another worker once its lease runs out, and it completes there', async () => {
    const first = worker({ REPORT_LEASE_SECONDS: '2' });
    await first.waitFor('Strongroom render worker is ready');
    const store = createJobStore(drizzle(pool));
    const inserted = await store.insert(
      {
        ownerId: randomUUID(),
        kind: 'WEEKLY_STATISTICS',
        format: 'PDF',
        parameters: { from: '2021-01-04', to: '2025-12-28', applications: null, sources: null, timeZone: 'UTC' },
        maxAttempts: 3,
      },
      1_000_000,
    );
    assert.ok(inserted.inserted);
    const { id } = inserted.row;
    // The first PDF of a worker launches its Chromium: the job is RUNNING there for a while.
    const pid = String(first.child.pid);
    for (let i = 0; i < 1500; i++) {
      const r = await row(id);
      if (r.status === 'RUNNING' && r.lease_owner?.includes(`:${pid}:`)) break;
      assert.notEqual(r.status, 'SUCCEEDED', 'another render loop took it first; the test could not land its kill');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal((await row(id)).status, 'RUNNING', 'the dead worker still holds it');

    const second = worker({ REPORT_LEASE_SECONDS: '2' });
    await second.waitFor('Strongroom render worker is ready');
    let done = await row(id);
    for (let i = 0; i < 1200 && done.status !== 'SUCCEEDED' && done.status !== 'FAILED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      done = await row(id);
    }
    assert.equal(done.status, 'SUCCEEDED');
    // The lost attempt is counted. (On the embedded database a further attempt can break on the
    // socket multiplexer's interleaving of concurrent connections, and is retried.)
    assert.ok(done.attempts >= 2 && done.attempts <= 3, `attempts ${done.attempts}`);
    assert.equal(done.lease_owner, null);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  test('a worker without DATABASE_URL refuses to start with a clear message', async () => {
    const p = startProcess({ NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dir }, 'src/worker.ts');
    children.push(p);
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /needs DATABASE_URL/);
  });
});
