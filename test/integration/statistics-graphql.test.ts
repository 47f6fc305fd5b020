/**
 * The statistics fields over real HTTP: a dashboard draws all three tables from one query,
 * `@auth(role: ANALYST)` holds, and bad arguments come back coded.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unique } from '../helpers/builders.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { aUser, bearer, signIn } from '../helpers/users.ts';

const WEEKLY = `query Weekly($from: Date!, $to: Date!, $applications: [String!], $timeZone: String) {
  weeklyStatistics(from: $from, to: $to, applications: $applications, timeZone: $timeZone) {
    from to timeZone applications sources
    summary { columns rows { key start values total } totals grandTotal }
    frequency { kind count share }
    bySource { columns rows { key start values total } totals grandTotal }
  }
}`;

const SUMMARY = `{ licenceSummary(expiringWithinDays: 7) {
  asOf expiringWithinDays applications { application active inactive expired total } totals { total } expiring { uniqueId } expiringCount
} }`;

describe('weeklyStatistics and licenceSummary over GraphQL', () => {
  let dataDir: string;
  let s: TestServer;
  const headersOf = async (role: 'USER' | 'ANALYST' | 'ADMIN') => {
    const res = await signIn(s, await aUser(s).withRole(role).create());
    return bearer(res.body.data!.signIn.tokens.accessToken);
  };

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-statistics-'));
    s = await startTestServer({ DATA_DIR: dataDir });
  });
  after(async () => {
    await s.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('an analyst draws the summary, the frequency and the by-source tables from one query', async () => {
    const app = unique('Atlas');
    const { licences } = s.server.services;
    const licence = await licences.create({ username: unique('ana'), application: app, licenceKey: unique('KEY') });
    for (const [kind, at, source] of [
      ['validated', '2026-02-02T08:00:00Z', 'web'],
      ['validated', '2026-02-04T08:00:00Z', 'api'],
      ['renewed', '2026-02-16T08:00:00Z', 'web'],
    ] as const) {
      await licences.recordEvent({ licenceId: licence.id, kind, source, occurredAt: new Date(at) });
    }
    const res = await s.gql(WEEKLY, { from: '2026-02-01', to: '2026-02-16', applications: [app], timeZone: 'Europe/Paris' }, await headersOf('ANALYST'));
    assert.equal(res.status, 200);
    assert.equal(res.body.errors, undefined);
    assert.deepEqual(res.body.data, {
      weeklyStatistics: {
        from: '2026-02-01',
        to: '2026-02-16',
        timeZone: 'Europe/Paris',
        applications: [app],
        sources: null,
        summary: {
          columns: [app],
          rows: [
            { key: '2026-W05', start: '2026-01-26', values: [0], total: 0 },
            { key: '2026-W06', start: '2026-02-02', values: [2], total: 2 },
            { key: '2026-W07', start: '2026-02-09', values: [0], total: 0 },
            { key: '2026-W08', start: '2026-02-16', values: [1], total: 1 },
          ],
          totals: [3],
          grandTotal: 3,
        },
        frequency: [
          { kind: 'validated', count: 2, share: 2 / 3 },
          { kind: 'renewed', count: 1, share: 1 / 3 },
        ],
        bySource: {
          columns: ['api', 'web'],
          rows: [
            { key: '2026-W05', start: '2026-01-26', values: [0, 0], total: 0 },
            { key: '2026-W06', start: '2026-02-02', values: [1, 1], total: 2 },
            { key: '2026-W07', start: '2026-02-09', values: [0, 0], total: 0 },
            { key: '2026-W08', start: '2026-02-16', values: [0, 1], total: 1 },
          ],
          totals: [1, 2],
          grandTotal: 3,
        },
      },
    });
  });

  test('users are FORBIDDEN and anonymous callers UNAUTHENTICATED, with nothing sent to the worker pool', async () => {
    const events: string[] = [];
    const unobserve = s.pool.observe((e) => events.push(e.type));
    const variables = { from: '2026-01-01', to: '2026-01-31' };
    const anonymous = await s.gql(WEEKLY, variables);
    assert.equal(anonymous.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const user = await s.gql(WEEKLY, variables, await headersOf('USER'));
    assert.equal(user.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal((await s.gql(SUMMARY, {}, await headersOf('USER'))).body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    unobserve();
    assert.deepEqual(events, []);
  });

  test('bad arguments are coded: a malformed date, to before from, an unknown zone', async () => {
    const auth = await headersOf('ANALYST');
    const malformed = await s.gql(WEEKLY, { from: '2026-02-30', to: '2026-03-01' }, auth);
    assert.equal(malformed.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const literal = await s.gql('{ weeklyStatistics(from: "yesterday", to: "2026-03-01") { from } }', {}, auth);
    assert.equal(literal.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    const backwards = await s.gql(WEEKLY, { from: '2026-03-02', to: '2026-03-01' }, auth);
    assert.deepEqual(backwards.body.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'to' });
    const zone = await s.gql(WEEKLY, { from: '2026-03-01', to: '2026-03-02', timeZone: 'Nowhere/Special' }, auth);
    assert.deepEqual(zone.body.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'timeZone' });
  });

  test('an admin reads the licence summary', async () => {
    const res = await s.gql<{ licenceSummary: { expiringWithinDays: number; totals: { total: number }; expiringCount: number; expiring: unknown[] } }>(
      SUMMARY,
      {},
      await headersOf('ADMIN'),
    );
    assert.equal(res.body.errors, undefined);
    const summary = res.body.data!.licenceSummary;
    assert.equal(summary.expiringWithinDays, 7);
    assert.ok(summary.totals.total >= 1);
    assert.ok(summary.expiring.length <= summary.expiringCount);
  });
});
