/**
 * The pure parts of reports: charts, the HTML template, CSV, PDF finishing, download ranges
 * and validators, and the job state machine.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { PDFDocument } from 'pdf-lib';
import { noneMatch, parseRange } from '../../src/http/reports.ts';
import { APPENDICES } from '../../src/reports/appendices.ts';
import { escapeXml, kindBarChart, weeklyLineChart } from '../../src/reports/charts.ts';
import { csvField, renderWeeklyReportCsv } from '../../src/reports/csv.ts';
import { cssString, renderWeeklyReportHtml } from '../../src/reports/html.ts';
import { finishPdf, outlineTitles } from '../../src/reports/pdf.ts';
import { isFinished, jobState, type JobRow, REPORT_STATUSES } from '../../src/services/reports/job-state.ts';
import { sampleWeeklyStatistics } from '../fixtures/reports.ts';
import { pdfText } from '../helpers/reports.ts';

const model = (overrides = {}) => ({
  statistics: sampleWeeklyStatistics(overrides),
  generatedAt: '2026-04-06T09:15:00.000Z',
  appendices: ['Terms of licence'],
});

describe('report charts', () => {
  test('the line chart has one path per application and escapes labels', () => {
    const stats = sampleWeeklyStatistics({ applications: ['<b>x</b>', 'A & B'] });
    const svg = weeklyLineChart(stats.summary, 'Weekly "events"');
    assert.equal((svg.match(/<path /g) ?? []).length, 2);
    assert.match(svg, /&lt;b&gt;x&lt;\/b&gt;/);
    assert.match(svg, /A &amp; B/);
    assert.match(svg, /aria-label="Weekly &quot;events&quot;"/);
    assert.doesNotMatch(svg, /<b>/);
  });

  test('the bar chart has a bar per kind with its count and share, and nothing is drawn without data', () => {
    const stats = sampleWeeklyStatistics();
    const svg = kindBarChart(stats.frequency, 'Events by kind');
    assert.equal((svg.match(/<rect /g) ?? []).length, stats.frequency.length);
    assert.match(svg, new RegExp(`${stats.frequency[0]!.count} \\(`));
    assert.equal(kindBarChart([], 'x'), '');
    assert.equal(weeklyLineChart({ columns: [], rows: [], totals: [], grandTotal: 0 }, 'x'), '');
    assert.equal(escapeXml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
  });
});

describe('the report page', () => {
  test('has the CSP that forbids scripts and loads, both charts, every week, the totals and the @page footer', () => {
    const html = renderWeeklyReportHtml(model());
    assert.match(html, /content="default-src 'none'; script-src 'none';/);
    assert.equal((html.match(/<svg /g) ?? []).length, 2);
    for (const row of sampleWeeklyStatistics().summary.rows) assert.ok(html.includes(`>${row.key}<`));
    assert.ok(html.includes(`>${sampleWeeklyStatistics().summary.grandTotal}<`));
    assert.match(html, /@bottom-center \{ content: "page " counter\(page\) " of " counter\(pages\)/);
    assert.doesNotMatch(renderWeeklyReportHtml(model(), { stampedFooter: true }), /@bottom-center/);
    assert.match(html, /Terms of licence/);
  });

  test('says so when the range has no events, and draws no chart', () => {
    const html = renderWeeklyReportHtml(model({ scale: 0 }));
    assert.match(html, /No licence events between 2026-01-05 and 2026-03-29/);
    assert.doesNotMatch(html, /<svg /);
  });

  test('escapes what users supplied, in the page and in CSS strings', () => {
    const stats = { ...sampleWeeklyStatistics({ applications: ['<script>x()</script>'] }), applications: ['<script>x()</script>'] };
    const html = renderWeeklyReportHtml({ statistics: stats, generatedAt: '2026-04-06T09:15:00.000Z', appendices: [] });
    assert.doesNotMatch(html, /<script>x/);
    assert.match(html, /&lt;script&gt;x\(\)&lt;\/script&gt;/);
    assert.equal(cssString('a"b</style>'), '"a\\22 b\\3c /style\\3e "');
  });
});

describe('report CSV', () => {
  test('has the three tables and defuses formulas', () => {
    const csv = renderWeeklyReportCsv(sampleWeeklyStatistics({ applications: ['=cmd()', 'a,b'] }));
    const lines = csv.split('\r\n');
    assert.equal(lines[0], 'Events per week and application');
    assert.equal(lines[1], `week,starts,'=cmd(),"a,b",total`);
    assert.ok(lines.includes('Events by kind'));
    assert.ok(lines.includes('Events per week and source'));
    assert.ok(csv.endsWith('\r\n'));
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField(-3), '-3');
  });
});

describe('PDF finishing', () => {
  test('appends the appendix, numbers every page "page X of Y", and writes an outline entry for each part', async () => {
    const report = await PDFDocument.create();
    report.addPage([595, 842]);
    report.addPage([595, 842]);
    const appendix = await readFile(APPENDICES['terms-of-licence'].file);
    const finished = await finishPdf({
      report: { title: 'Weekly licence statistics', bytes: await report.save() },
      appendices: [{ title: 'Terms of licence', bytes: appendix }],
      title: 'Weekly licence statistics',
      generatedAt: '2026-04-06T09:15:00.000Z',
    });
    assert.equal(finished.pageCount, 3);
    const text = await pdfText(finished.bytes);
    for (const n of [1, 2, 3]) assert.match(text, new RegExp(`page ${n} of 3`));
    assert.match(text, /Terms of licence/);
    assert.deepEqual(await outlineTitles(finished.bytes), ['Weekly licence statistics', 'Terms of licence']);
    const doc = await PDFDocument.load(finished.bytes);
    assert.equal(doc.getTitle(), 'Weekly licence statistics');
  });
});

describe('download ranges and validators', () => {
  test('Range: one range of bytes, suffixes, open ends; unsatisfiable past the end; anything else the whole file', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { kind: 'part', start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=900-', 1000), { kind: 'part', start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-100', 1000), { kind: 'part', start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'part', start: 0, end: 999 });
    assert.deepEqual(parseRange('bytes=990-2000', 1000), { kind: 'part', start: 990, end: 999 });
    assert.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=5-1', 1000), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
    for (const whole of [undefined, 'bytes=0-1,5-6', 'items=0-1', 'bytes=x', 'bytes=-']) assert.deepEqual(parseRange(whole, 1000), { kind: 'whole' });
  });

  test('If-None-Match: a list, weak tags and *', () => {
    assert.ok(noneMatch('"a", "b"', '"b"'));
    assert.ok(noneMatch('W/"b"', '"b"'));
    assert.ok(noneMatch('*', '"b"'));
    assert.equal(noneMatch('"a"', '"b"'), false);
    assert.equal(noneMatch(undefined, '"b"'), false);
  });
});

describe('the report job state machine', () => {
  const row = (status: string): JobRow => ({
    id: 'x',
    ownerId: 'o',
    kind: 'WEEKLY_STATISTICS',
    format: 'PDF',
    parameters: {},
    status,
    progress: 0,
    createdAt: new Date(0),
    startedAt: null,
    finishedAt: null,
    error: null,
    attempts: 0,
    maxAttempts: 3,
    leaseOwner: null,
    leaseExpiresAt: null,
    byteSize: null,
    pageCount: null,
    outputSha256: null,
  });

  test('every status is a phase; only QUEUED and RUNNING are unfinished; a stored status it does not know is refused', () => {
    for (const status of REPORT_STATUSES) assert.equal(jobState(row(status)).phase, status);
    assert.deepEqual(
      REPORT_STATUSES.filter((s) => !isFinished(jobState(row(s)))),
      ['QUEUED', 'RUNNING'],
    );
    assert.equal((jobState(row('TIMED_OUT')) as { error: { code: string } }).error.code, 'TIMEOUT');
    assert.throws(() => jobState(row('PAUSED')));
  });
});
