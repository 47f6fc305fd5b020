/**
 * PDF, HTML and CSV reports through GraphQL and the download route, on a real server with
 * a real Chromium, worker pool and database: the numbers, the page, escaping, permissions,
 * signed links, ranges and validators.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { outlineTitles } from '../../src/reports/pdf.ts';
import { aLicence, unique } from '../helpers/builders.ts';
import { caller, download, pdfPages, pdfText, type ReportServer, REPORT, requestReport, startReportServer } from '../helpers/reports.ts';

/** Events in three ISO weeks of 2026 (W02–W04), two applications, two sources, three kinds. */
async function seed(s: ReportServer) {
  const apps = [unique('Atlas'), unique('Beacon')].sort();
  const at = (day: string, hour = 12) => new Date(`${day}T${String(hour).padStart(2, '0')}:00:00Z`);
  await aLicence()
    .forApplication(apps[0]!)
    .withEvent('activated', at('2026-01-05'), 'desktop')
    .withEvent('validated', at('2026-01-06'), 'desktop')
    .withEvent('validated', at('2026-01-13'), 'web')
    .create(s.server.services);
  await aLicence()
    .forApplication(apps[1]!)
    .withEvent('validated', at('2026-01-07'), 'web')
    .withEvent('renewed', at('2026-01-21'), 'web')
    .create(s.server.services);
  return apps;
}

describe('reports', () => {
  let s: ReportServer;
  let analyst: Awaited<ReturnType<typeof caller>>;
  before(async () => {
    s = await startReportServer();
    analyst = await caller(s, 'ANALYST');
  });
  after(() => s.close());

  test('a PDF asked for with waitSeconds comes back SUCCEEDED; its text has the title, every week, the totals and "page 1 of N", and its outline names each part', async () => {
    const apps = await seed(s);
    const res = await requestReport(s, analyst.headers, { from: '2026-01-05', to: '2026-01-25', applications: apps }, 120);
    assert.equal(res.body.errors, undefined);
    const report = res.body.data!.requestReport;
    assert.equal(report.status, 'SUCCEEDED', JSON.stringify(report.error));
    assert.equal(report.progress, 100);
    assert.ok(report.downloadUrl);
    const file = await download(s, report.downloadUrl);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'application/pdf');
    assert.equal(file.headers.get('content-disposition'), 'attachment; filename="weekly-statistics-2026-01-05-2026-01-25.pdf"');
    const pdf = new Uint8Array(await file.arrayBuffer());
    assert.equal(Number(file.headers.get('content-length')), pdf.byteLength);
    assert.equal(report.byteSize, pdf.byteLength);
    assert.equal(Buffer.from(pdf.subarray(0, 5)).toString(), '%PDF-');
    const pages = await pdfPages(pdf);
    assert.equal(report.pageCount, pages);
    const text = await pdfText(pdf);
    assert.match(text, /Weekly licence statistics/);
    for (const week of ['2026-W02', '2026-W03', '2026-W04']) assert.match(text, new RegExp(week));
    assert.match(text, /page 1 of \d+/);
    assert.match(text, new RegExp(`page ${pages} of ${pages}`));
    // Totals: W02 has 3 events of the first app and 1 of the second; 5 events in all.
    const totalLine = text.split('\n').find((l) => /^\s*Total\s+\d/.test(l));
    assert.ok(totalLine, 'a totals row');
    assert.deepEqual(totalLine!.trim().split(/\s+/).slice(1).map(Number), [3, 2, 5]);
    assert.match(text, /Weekly events per application/, 'the line chart is drawn');
    assert.match(text, /Events by kind/);
    assert.match(text, /Terms of licence/, 'the appendix is merged');
    assert.deepEqual(await outlineTitles(pdf), ['Weekly licence statistics', 'Terms of licence']);
  });

  test('the same report as HTML has the tables, two inline SVG charts and no script; as CSV, the three tables', async () => {
    const apps = await seed(s);
    const html = (await requestReport(s, analyst.headers, { from: '2026-01-05', to: '2026-01-25', applications: apps, format: 'HTML' }, 120)).body.data!
      .requestReport;
    assert.equal(html.status, 'SUCCEEDED');
    assert.equal(html.pageCount, null);
    const page = await download(s, html.downloadUrl!);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-disposition')!, /filename="weekly-statistics-2026-01-05-2026-01-25\.html"/);
    const body = await page.text();
    assert.equal((body.match(/<svg /g) ?? []).length, 2);
    assert.match(body, /<path d="M[\d.,ML]+"/);
    assert.doesNotMatch(body, /<script/i);
    assert.match(body, /script-src 'none'/);

    const csv = (await requestReport(s, analyst.headers, { from: '2026-01-05', to: '2026-01-25', applications: apps, format: 'CSV' }, 120)).body.data!
      .requestReport;
    const lines = (await (await download(s, csv.downloadUrl!)).text()).split('\r\n');
    assert.equal(lines[0], 'Events per week and application');
    assert.equal(lines[1], `week,starts,${apps.join(',')},total`);
    assert.equal(lines[2], '2026-W02,2026-01-05,2,1,3');
    assert.ok(lines.includes('Events by kind'));
    assert.ok(lines.includes('Events per week and source'));
    assert.ok(lines.includes('total,,3,2,5'));
  });

  test('a range with no events gives a SUCCEEDED report that says so', async () => {
    const res = await requestReport(s, analyst.headers, { from: '1999-01-04', to: '1999-01-17', applications: [unique('Nothing')] }, 120);
    const report = res.body.data!.requestReport;
    assert.equal(report.status, 'SUCCEEDED');
    const text = await pdfText(new Uint8Array(await (await download(s, report.downloadUrl!)).arrayBuffer()));
    assert.match(text, /No licence events between 1999-01-04 and 1999-01-17/);
    assert.match(text, /1999-W01/);
  });

  test('script and HTML in application names appear escaped in the HTML and as plain text in the PDF', async () => {
    const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>&${unique('')}`;
    await aLicence().forApplication(evil).withEvent('validated', new Date('2026-02-03T10:00:00Z')).create(s.server.services);
    const input = { from: '2026-02-02', to: '2026-02-08', applications: [evil] };
    const html = (await requestReport(s, analyst.headers, { ...input, format: 'HTML' }, 120)).body.data!.requestReport;
    const body = await (await download(s, html.downloadUrl!)).text();
    assert.doesNotMatch(body, /<script>alert|<img src=x/);
    assert.match(body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=alert\(2\)&gt;&amp;/);
    const pdf = (await requestReport(s, analyst.headers, input, 120)).body.data!.requestReport;
    const text = await pdfText(new Uint8Array(await (await download(s, pdf.downloadUrl!)).arrayBuffer()));
    assert.match(text, /<script>alert\(1\)<\/script><img src=x/);
  });

  test('progress moves between 0 and 100 while a report renders', async () => {
    const res = await requestReport(s, analyst.headers, { from: '2024-01-01', to: '2026-01-04' }, 0);
    const { id } = res.body.data!.requestReport;
    const seen = new Set<number>();
    for (let status = 'QUEUED'; status === 'QUEUED' || status === 'RUNNING'; ) {
      const r = (await s.gql<{ report: { status: string; progress: number } }>(REPORT, { id }, analyst.headers)).body.data!.report;
      status = r.status;
      seen.add(r.progress);
    }
    assert.ok(
      [...seen].some((p) => p > 0 && p < 100),
      `saw ${[...seen].join(', ')}`,
    );
    assert.ok(seen.has(100));
  });

  test("a USER may not ask for reports, and another analyst's report is NOT_FOUND to report, cancelReport and its signed link", async () => {
    const user = await caller(s, 'USER');
    const refused = await requestReport(s, user.headers, { from: '2026-01-05', to: '2026-01-11' });
    assert.equal(refused.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    const mine = (await requestReport(s, analyst.headers, { from: '2026-01-05', to: '2026-01-11', format: 'CSV' }, 120)).body.data!.requestReport;
    const other = await caller(s, 'ANALYST');
    const read = await s.gql(REPORT, { id: mine.id }, other.headers);
    assert.equal(read.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const cancel = await s.gql('mutation($id: ID!) { cancelReport(id: $id) { status } }', { id: mine.id }, other.headers);
    assert.equal(cancel.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const garbage = await s.gql(REPORT, { id: 'not-a-uuid' }, analyst.headers);
    assert.equal(garbage.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    // A genuine signature of the other analyst, naming this report: still not theirs.
    const forged = await s.server.services.reports.signDownload({ reportId: mine.id, format: 'CSV', userId: other.userId, admin: false });
    const res = await download(s, `/reports/${mine.id}.csv?token=${forged.token}`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'NOT_FOUND');
    // An admin sees it.
    const admin = await caller(s, 'ADMIN');
    assert.equal((await s.gql<{ report: { status: string } }>(REPORT, { id: mine.id }, admin.headers)).body.data?.report.status, 'SUCCEEDED');
  });

  test('downloads honour Range (206, 416) and If-None-Match (304); a bad or expired signature is 403, an unfinished report 409', async () => {
    const report = (await requestReport(s, analyst.headers, { from: '2026-01-05', to: '2026-01-11' }, 120)).body.data!.requestReport;
    const url = report.downloadUrl!;
    const whole = new Uint8Array(await (await download(s, url)).arrayBuffer());
    const full = await download(s, url);
    const etag = full.headers.get('etag')!;
    assert.match(etag, /^"[A-Za-z0-9_-]{43}"$/);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');

    const part = await download(s, url, { range: 'bytes=0-99' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 0-99/${whole.byteLength}`);
    assert.equal(part.headers.get('content-length'), '100');
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), whole.subarray(0, 100));
    const tail = await download(s, url, { range: 'bytes=-10' });
    assert.deepEqual(new Uint8Array(await tail.arrayBuffer()), whole.subarray(whole.byteLength - 10));

    const past = await download(s, url, { range: `bytes=${whole.byteLength}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${whole.byteLength}`);
    assert.equal(((await past.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'RANGE_NOT_SATISFIABLE');

    const cached = await download(s, url, { 'if-none-match': etag });
    assert.equal(cached.status, 304);
    assert.equal((await cached.arrayBuffer()).byteLength, 0);
    assert.equal((await download(s, url, { 'if-none-match': '"other"' })).status, 200);

    const codeOf = async (res: Response) => ((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code;
    const tampered = url.replace(/token=([^.]+)\.([^.]+)\.(.)/, (_m, h, p, c) => `token=${h}.${p}.${c === 'A' ? 'B' : 'A'}`);
    const bad = await download(s, tampered);
    assert.equal(bad.status, 403);
    assert.equal(await codeOf(bad), 'FORBIDDEN');
    assert.equal((await download(s, url.replace(/\?token=.*/, ''))).status, 403);
    assert.equal((await download(s, url.replace('.pdf?', '.csv?'))).status, 403, 'a link is for one format');
    const claims = { reportId: report.id, format: 'PDF', userId: analyst.userId, admin: false };
    const fresh = await s.server.services.reports.signDownload(claims);
    assert.equal((await download(s, `/reports/${report.id}.pdf?token=${fresh.token}`)).status, 200);
    const expired = await s.server.services.reports.signDownload(claims, new Date(Date.now() - 16 * 60_000));
    const stale = await download(s, `/reports/${report.id}.pdf?token=${expired.token}`);
    assert.equal(stale.status, 403, 'a link signed 16 minutes ago has expired (15 min)');
    assert.equal(await codeOf(stale), 'FORBIDDEN');

    // Unfinished: a report nobody renders stays QUEUED (a second server with rendering off asks for it).
    const { startTestServer } = await import('../helpers/server.ts');
    const idle = await startTestServer({ REPORT_RENDERING: 'off' });
    try {
      const queued = await idle.server.services.reports.request(
        { kind: 'user', userId: analyst.userId, role: 'ANALYST', sessionId: 's', secondFactorAt: null, secondFactorChannel: null, checkedAt: new Date() },
        { kind: 'WEEKLY_STATISTICS', format: 'PDF', from: '2026-01-05', to: '2026-01-11' },
        0,
      );
      await s.server.services.reports.cancel(
        { kind: 'user', userId: analyst.userId, role: 'ANALYST', sessionId: 's', secondFactorAt: null, secondFactorChannel: null, checkedAt: new Date() },
        queued.state.row.id,
      );
      const link = await s.server.services.reports.signDownload({ reportId: queued.state.row.id, format: 'PDF', userId: analyst.userId, admin: false });
      const unfinished = await download(s, `/reports/${queued.state.row.id}.pdf?token=${link.token}`);
      assert.equal(unfinished.status, 409);
      assert.equal(await codeOf(unfinished), 'REPORT_NOT_READY');
    } finally {
      await idle.close();
    }
  });
});
