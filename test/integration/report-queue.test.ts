/**
 * Reports that nobody renders (this server's render loop is off, and each test's rows live in
 * its own transaction, out of other render loops' sight): waiting answers the current state,
 * listing pages through the caller's own reports, cancelling, and bad input refused before
 * anything is queued.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useTestDatabases } from '../helpers/isolation.ts';
import { caller, REPORT_FIELDS, type ReportResult, requestReport } from '../helpers/reports.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const LIST = `query List($first: Int, $after: String) { reports(first: $first, after: $after) {
  edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }`;
type List = { reports: { edges: { cursor: string; node: { id: string; status: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

describe('queued reports', () => {
  const t = useTestDatabases();
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ REPORT_RENDERING: 'off' }, { databases: t.databases });
  });
  after(() => s.close());

  test('waitSeconds waits, then answers a report that is still QUEUED as it is, without an error', async () => {
    const { headers } = await caller(s, 'ANALYST');
    const started = performance.now();
    const res = await requestReport(s, headers, { from: '2026-01-05', to: '2026-01-11' }, 1);
    assert.equal(res.body.errors, undefined);
    const report = res.body.data!.requestReport;
    assert.equal(report.status, 'QUEUED');
    assert.equal(report.downloadUrl, null);
    assert.equal(report.attempts, 0);
    assert.ok(performance.now() - started >= 900, 'it waited about a second');
  });

  test("reports pages through the caller's own reports, newest first; an admin sees everyone's", async () => {
    const mine = await caller(s, 'ANALYST');
    const other = await caller(s, 'ANALYST');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await requestReport(s, mine.headers, { from: '2026-01-05', to: '2026-01-11', format: 'CSV' })).body.data!.requestReport.id);
    const theirs = (await requestReport(s, other.headers, { from: '2026-01-05', to: '2026-01-11' })).body.data!.requestReport.id;
    const first = (await s.gql<List>(LIST, { first: 2 }, mine.headers)).body.data!.reports;
    assert.deepEqual(
      first.edges.map((e) => e.node.id),
      [ids[2], ids[1]],
    );
    assert.equal(first.pageInfo.hasNextPage, true);
    const second = (await s.gql<List>(LIST, { first: 2, after: first.pageInfo.endCursor }, mine.headers)).body.data!.reports;
    assert.deepEqual(
      second.edges.map((e) => e.node.id),
      [ids[0]],
    );
    assert.equal(second.pageInfo.hasNextPage, false);
    const admin = await caller(s, 'ADMIN');
    const all = (await s.gql<List>(LIST, { first: 100 }, admin.headers)).body.data!.reports.edges.map((e) => e.node.id);
    assert.ok(all.includes(theirs) && ids.every((id) => all.includes(id)));
    const bad = await s.gql(LIST, { first: 2, after: 'bm90IGEgY3Vyc29y' }, mine.headers);
    assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal((await s.gql(LIST, { first: 0 }, mine.headers)).body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  test('cancelReport cancels a queued report; cancelling it again answers it as it is', async () => {
    const { headers } = await caller(s, 'ANALYST');
    const { id } = (await requestReport(s, headers, { from: '2026-01-05', to: '2026-01-11' })).body.data!.requestReport;
    const CANCEL = `mutation($id: ID!) { cancelReport(id: $id) { ${REPORT_FIELDS} } }`;
    const cancelled = (await s.gql<{ cancelReport: ReportResult }>(CANCEL, { id }, headers)).body.data!.cancelReport;
    assert.equal(cancelled.status, 'CANCELLED');
    const again = (await s.gql<{ cancelReport: ReportResult }>(CANCEL, { id }, headers)).body.data!.cancelReport;
    assert.equal(again.status, 'CANCELLED');
  });

  test('bad input is refused with BAD_USER_INPUT naming the field, before anything is queued', async () => {
    const { headers } = await caller(s, 'ANALYST');
    const cases: [Record<string, unknown>, string][] = [
      [{ from: '2026-02-01', to: '2026-01-01' }, 'from'],
      [{ from: '2026-01-01', to: '2026-01-07', timeZone: 'Mars/Olympus_Mons' }, 'timeZone'],
      [{ from: '2026-01-01', to: '2026-01-07', applications: [] }, 'applications'],
      [{ from: '2000-01-01', to: '2026-01-07' }, 'to'],
      [{ from: '2026-01-01', to: '2026-01-07', sources: ['x'.repeat(201)] }, 'sources'],
    ];
    const before = (await s.gql<List>(LIST, { first: 100 }, headers)).body.data!.reports.edges.length;
    for (const [input, field] of cases) {
      const res = await requestReport(s, headers, input);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(input));
      assert.equal(res.body.errors?.[0]?.extensions?.field, field, JSON.stringify(input));
    }
    const negative = await requestReport(s, headers, { from: '2026-01-01', to: '2026-01-07' }, -1);
    assert.equal(negative.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const notADate = await requestReport(s, headers, { from: '2026-02-30', to: '2026-03-07' });
    assert.ok(notADate.body.errors?.length, 'the Date scalar refuses 2026-02-30');
    assert.equal((await s.gql<List>(LIST, { first: 100 }, headers)).body.data!.reports.edges.length, before, 'nothing was queued');
  });
});
