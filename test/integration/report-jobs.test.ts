/**
 * The report job queue on the database (per-test transactions, so other test files' render
 * loops never see these rows): the queue limit, claims, leases that run out, cancellation,
 * and the sweeper.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { createJobStore } from '../../src/services/reports/store.ts';
import { useTestDatabases } from '../helpers/isolation.ts';

const PARAMETERS = { from: '2026-01-05', to: '2026-01-11', applications: null, sources: null, timeZone: 'UTC' };

describe('report jobs in the database', () => {
  const t = useTestDatabases();
  const store = () => createJobStore(t.databases.data.db);
  const queuedNow = async () =>
    Number(((await t.databases.data.db.execute(sql`select count(*)::int as n from reporting.report_jobs where status = 'QUEUED'`)).rows[0] as { n: number }).n);
  const job = (ownerId = randomUUID()) => ({ ownerId, kind: 'WEEKLY_STATISTICS', format: 'PDF', parameters: PARAMETERS, maxAttempts: 2 });
  const age = (id: string, column: 'finished_at' | 'lease_expires_at', interval: string) =>
    t.databases.data.db.execute(sql`update reporting.report_jobs set ${sql.raw(column)} = now() - ${interval}::interval where id = ${id}`);

  test('an insert past the queue limit is refused, and the ones before it are queued', async () => {
    const jobs = store();
    // Other test files' render loops claim and queue jobs of their own meanwhile; holding the
    // table until this test's transaction ends keeps the count still between the inserts.
    await t.databases.data.db.execute(sql`lock table reporting.report_jobs in share row exclusive mode`);
    const limit = (await queuedNow()) + 2;
    const first = await jobs.insert(job(), limit);
    const second = await jobs.insert(job(), limit);
    const third = await jobs.insert(job(), limit);
    assert.equal(first.inserted, true);
    assert.equal(second.inserted, true);
    assert.equal(third.inserted, false);
    if (first.inserted) assert.equal(first.row.status, 'QUEUED');
  });

  test('a claim leases the oldest queued job and counts an attempt; a second claimer skips it', async () => {
    const jobs = store();
    const inserted = await jobs.insert(job(), 1_000_000);
    assert.ok(inserted.inserted);
    // Other queued jobs may exist; claim until ours comes up (oldest first).
    let claimed: Awaited<ReturnType<typeof jobs.claim>>;
    for (let i = 0; i < 1000 && claimed?.id !== inserted.row.id; i++) claimed = await jobs.claim('worker-a', 30);
    assert.equal(claimed?.id, inserted.row.id);
    assert.equal(claimed?.status, 'RUNNING');
    assert.equal(claimed?.attempts, 1);
    assert.equal(claimed?.leaseOwner, 'worker-a');
    assert.ok(await jobs.renew(inserted.row.id, 'worker-a', 30));
    assert.equal(await jobs.renew(inserted.row.id, 'worker-b', 30), false, 'only the lease owner renews');
    assert.equal(await jobs.succeed(inserted.row.id, 'worker-b', { bytes: new Uint8Array([1]), contentType: 'x', pageCount: null, sha256: 'x' }), false);
  });

  test('a job whose lease ran out goes back to the queue while attempts remain, and fails with RENDER_FAILED after the last', async () => {
    const jobs = store();
    const inserted = await jobs.insert(job(), 1_000_000);
    assert.ok(inserted.inserted);
    const { id } = inserted.row;
    await t.databases.data.db.execute(
      sql`update reporting.report_jobs set status = 'RUNNING', attempts = 1, lease_owner = 'dead', lease_expires_at = now() - interval '1 second' where id = ${id}`,
    );
    await jobs.reclaimExpired();
    let row = await jobs.get(id);
    assert.equal(row?.status, 'QUEUED');
    assert.equal(row?.leaseOwner, null);
    await t.databases.data.db.execute(
      sql`update reporting.report_jobs set status = 'RUNNING', attempts = 2, lease_owner = 'dead', lease_expires_at = now() - interval '1 second' where id = ${id}`,
    );
    await jobs.reclaimExpired();
    row = await jobs.get(id);
    assert.equal(row?.status, 'FAILED');
    assert.equal(row?.error?.code, 'RENDER_FAILED');
    assert.ok(row?.finishedAt);
  });

  test('cancel moves a queued or running job to CANCELLED for its owner only, and the render that loses it records nothing', async () => {
    const jobs = store();
    const owner = randomUUID();
    const inserted = await jobs.insert(job(owner), 1_000_000);
    assert.ok(inserted.inserted);
    const { id } = inserted.row;
    assert.equal(await jobs.cancel(id, randomUUID()), undefined, 'another owner changes nothing');
    await t.databases.data.db.execute(
      sql`update reporting.report_jobs set status = 'RUNNING', lease_owner = 'w', lease_expires_at = now() + interval '1 minute' where id = ${id}`,
    );
    const cancelled = await jobs.cancel(id, owner);
    assert.equal(cancelled?.status, 'CANCELLED');
    assert.equal(await jobs.renew(id, 'w', 30), false, 'the render loop learns at its next renewal');
    assert.equal(await jobs.fail(id, 'w', 'FAILED', { code: 'X', message: 'x' }), false);
    assert.equal((await jobs.get(id))?.status, 'CANCELLED');
    assert.equal(await jobs.cancel(id, owner), undefined, 'a finished job is not cancelled again');
  });

  test('the sweeper deletes finished jobs past their retention, a bounded batch at a time, and keeps the rest', async () => {
    const jobs = store();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const inserted = await jobs.insert(job(), 1_000_000);
      assert.ok(inserted.inserted);
      ids.push(inserted.row.id);
      await t.databases.data.db.execute(sql`update reporting.report_jobs set status = 'SUCCEEDED' where id = ${inserted.row.id}`);
    }
    const recent = await jobs.insert(job(), 1_000_000);
    assert.ok(recent.inserted);
    await t.databases.data.db.execute(sql`update reporting.report_jobs set status = 'SUCCEEDED', finished_at = now() where id = ${recent.row.id}`);
    for (const id of ids) await age(id, 'finished_at', '30 days');
    // Older rows from other runs may exist: sweep until ours are gone, two at a time.
    let deleted = 0;
    for (let pass = 0; pass < 1000 && (await Promise.all(ids.map((id) => jobs.get(id)))).some(Boolean); pass++) {
      const n = await jobs.sweep(24 * 29, 2);
      assert.ok(n <= 2);
      deleted += n;
    }
    assert.ok(deleted >= 3);
    assert.ok(await jobs.get(recent.row.id), 'a report within its retention stays');
  });
});
