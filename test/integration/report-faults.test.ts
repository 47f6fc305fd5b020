/**
 * Reports under faults: a burst past the queue, no Chromium at all, Chromium killed in the
 * middle of a render. Each report ends in a defined state and the server keeps serving.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { caller, type ReportResult, requestReport, settled, startReportServer } from '../helpers/reports.ts';

describe('reports under faults', () => {
  test('50 requests at once with a queue of 8: each ends SUCCEEDED or SERVER_BUSY, and none is left queued or running', async () => {
    const s = await startReportServer({ REPORT_MAX_QUEUE: '8' });
    try {
      const { headers } = await caller(s, 'ANALYST');
      const answers = await Promise.all(Array.from({ length: 50 }, () => requestReport(s, headers, { from: '2026-01-05', to: '2026-01-18' })));
      const accepted: ReportResult[] = [];
      let busy = 0;
      for (const res of answers) {
        if (res.body.data?.requestReport) accepted.push(res.body.data.requestReport);
        else {
          assert.equal(res.body.errors?.[0]?.extensions?.code, 'SERVER_BUSY', JSON.stringify(res.body.errors));
          assert.ok(Number(res.body.errors?.[0]?.extensions?.retryAfter) >= 1);
          busy++;
        }
      }
      assert.ok(busy > 0, 'some were refused');
      assert.ok(accepted.length >= 8, `at least a queue's worth were accepted (${accepted.length})`);
      const finished = await Promise.all(accepted.map((r) => settled(s, headers, r.id, 300_000)));
      assert.deepEqual(new Set(finished.map((r) => r.status)), new Set(['SUCCEEDED']));
    } finally {
      await s.close();
    }
  });

  test('without Chromium a PDF report FAILS with RENDERER_UNAVAILABLE while HTML reports and the rest of the server work', async () => {
    const s = await startReportServer({ PUPPETEER_EXECUTABLE_PATH: '/nonexistent/chromium' });
    try {
      const { headers } = await caller(s, 'ANALYST');
      const pdf = (await requestReport(s, headers, { from: '2026-01-05', to: '2026-01-11' }, 120)).body.data!.requestReport;
      assert.equal(pdf.status, 'FAILED');
      assert.equal(pdf.error?.code, 'RENDERER_UNAVAILABLE');
      assert.equal(pdf.attempts, 1, 'not retried: it would fail again');
      assert.equal(pdf.downloadUrl, null);
      const html = (await requestReport(s, headers, { from: '2026-01-05', to: '2026-01-11', format: 'HTML' }, 120)).body.data!.requestReport;
      assert.equal(html.status, 'SUCCEEDED');
      const health = await s.gql<{ health: { status: string } }>('{ health { status } }');
      assert.equal(health.body.data?.health.status, 'OK');
    } finally {
      await s.close();
    }
  });

  test('Chromium killed during a render: that report is retried or FAILED, never stuck, and the next one succeeds in a new browser', async () => {
    const s = await startReportServer({ REPORT_CONCURRENCY: '1' });
    try {
      const { headers } = await caller(s, 'ANALYST');
      // Warm up: the browser is launched lazily, by the first PDF.
      assert.equal((await requestReport(s, headers, { from: '2026-01-05', to: '2026-01-11' }, 120)).body.data!.requestReport.status, 'SUCCEEDED');
      const pid = s.renderer!.browserPid();
      assert.ok(pid);
      // A long report (five years of weeks, many pages) gives the kill time to land mid-print.
      const { id } = (await requestReport(s, headers, { from: '2021-01-04', to: '2025-12-28' })).body.data!.requestReport;
      const pool = s.databases.data.pool;
      for (let i = 0; i < 2000; i++) {
        const { rows } = await pool.query<{ status: string; progress: number }>('select status, progress from reporting.report_jobs where id = $1', [id]);
        if (rows[0]!.status === 'RUNNING' && rows[0]!.progress >= 50) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      process.kill(pid, 'SIGKILL');
      const killed = await settled(s, headers, id, 180_000);
      assert.ok(
        killed.status === 'SUCCEEDED' || (killed.status === 'FAILED' && killed.error?.code === 'RENDER_FAILED'),
        `${killed.status} ${JSON.stringify(killed.error)}`,
      );
      if (killed.status === 'SUCCEEDED') assert.ok(killed.attempts >= 2, 'it succeeded on a later attempt');
      const asked = (await requestReport(s, headers, { from: '2026-01-05', to: '2026-01-11' })).body.data!.requestReport;
      const next = await settled(s, headers, asked.id, 180_000);
      assert.equal(next.status, 'SUCCEEDED');
      assert.notEqual(s.renderer!.browserPid(), pid);
      assert.ok(s.renderer!.stats().launches >= 2);
    } finally {
      await s.close();
    }
  });
});
