/**
 * Each GraphQL limit over real HTTP, on a server configured with small limits: just at the
 * limit the operation runs (it reaches the database: the caller's session, `me`'s row), one
 * over it is refused with QUERY_LIMIT_EXCEEDED and HTTP 400 and nothing ran: not one database
 * query (the caller is not even looked up), no task queued on the worker pool.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Lexer, Source, TokenKind } from 'graphql';
import type { PoolEvent } from '../../src/workers/pool.ts';
import { watchQueries, type QueryWatch } from '../helpers/queries.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { signedInHeaders } from '../helpers/users.ts';

/** Tokens as graphql-js counts them against `maxTokens` (every token but the end of the document). */
function tokens(source: string): number {
  const lexer = new Lexer(new Source(source));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

// Exactly at the token limit, and within every other limit below (two directives per field, cost 6, depth 2).
const field = (name: string) => `${name} @include(if: $t) @skip(if: $f)`;
const AT_TOKENS = `query Tokens($t: Boolean = true, $f: Boolean = false) { me { ${['id', 'email', 'username', 'role', 'disabled'].map(field).join(' ')} } }`;
const OVER_TOKENS = AT_TOKENS.replace(/ }$/, ' __typename }');

const LIMITS = {
  GRAPHQL_MAX_DEPTH: '3',
  GRAPHQL_MAX_ALIASES: '3',
  GRAPHQL_MAX_DIRECTIVES: '2',
  GRAPHQL_MAX_TOKENS: String(tokens(AT_TOKENS)),
  GRAPHQL_MAX_FRAGMENT_SPREADS: '3',
  GRAPHQL_MAX_DUPLICATE_FIELDS: '2',
  GRAPHQL_MAX_COST: '13',
  GRAPHQL_MAX_INTROSPECTION_LISTS: '2',
  GRAPHQL_MAX_BATCH: '2',
};

/** For each limit: a document just at it, and one just over it. */
const CASES: { limit: string; max: number; at: string; over: string }[] = [
  { limit: 'depth', max: 3, at: '{ health { databases { name } } }', over: '{ auditLog { edges { node { id } } } }' },
  {
    limit: 'aliases',
    max: 3,
    at: '{ a: me { id } b: me { email } c: me { role } }',
    over: '{ a: systemSelfTest(iterations: 1) { digest } b: systemSelfTest(iterations: 1) { digest } c: me { id } d: me { id } }',
  },
  {
    limit: 'directives',
    max: 2,
    at: '{ me @include(if: true) @skip(if: false) { id } }',
    over: '{ me @include(if: true) @skip(if: false) @include(if: true) { id } }',
  },
  { limit: 'tokens', max: Number(LIMITS.GRAPHQL_MAX_TOKENS), at: AT_TOKENS, over: OVER_TOKENS },
  {
    limit: 'fragmentSpreads',
    max: 3,
    at: '{ ...A } fragment A on Query { ...B ...C } fragment B on Query { me { id } } fragment C on Query { me { email } }',
    over: '{ ...A } fragment A on Query { ...B ...C } fragment B on Query { me { id } } fragment C on Query { me { email } ...D } fragment D on Query { __typename }',
  },
  { limit: 'duplicateFields', max: 2, at: '{ me { id } me { email } me { role } }', over: '{ me { id } me { email } me { role } me { username } }' },
  // health 1, status 1, databases 1 + GRAPHQL_DEFAULT_LIST_SIZE (10) × name 1: 13.
  { limit: 'cost', max: 13, at: '{ health { status databases { name } } }', over: '{ health { status version databases { name } } }' },
  { limit: 'introspectionLists', max: 2, at: '{ __schema { types { fields { name } } } }', over: '{ __schema { types { fields { args { name } } } } }' },
];

describe('GraphQL limits', () => {
  let s: TestServer;
  let dataDir: string;
  let auth: Record<string, string>;
  let queries: QueryWatch;
  const tasks: PoolEvent[] = [];
  let stopWatchingPool: () => void;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-limits-'));
    s = await startTestServer({ ...LIMITS, DATA_DIR: dataDir, WORKER_THREADS: '1' });
    auth = await signedInHeaders(s);
    queries = watchQueries(s.databases);
    stopWatchingPool = s.pool.observe((event) => void tasks.push(event));
  });
  after(async () => {
    stopWatchingPool?.();
    queries?.stop();
    await s?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Posts as a signed-in client; returns the response and the database queries it caused. */
  async function send(body: unknown) {
    queries.reset();
    tasks.length = 0;
    const res = await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
    const json = (await res.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] } | unknown[];
    return { status: res.status, json, queries: queries.count(), tasks: tasks.length };
  }

  for (const { limit, max, at, over } of CASES) {
    test(`${limit}: a request just at the limit runs`, async () => {
      const r = await send({ query: at });
      const body = r.json as { errors?: { extensions?: Record<string, unknown> }[] };
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.errors, undefined);
      assert.ok(r.queries > 0, 'it reached the database');
    });

    test(`${limit}: a request just over the limit is refused before anything runs`, async () => {
      const r = await send({ query: over });
      const body = r.json as { data?: unknown; errors: { extensions: Record<string, unknown> }[] };
      assert.equal(r.status, 400);
      assert.equal(body.data, undefined);
      assert.equal(body.errors.length, 1);
      assert.equal(body.errors[0]!.extensions.code, 'QUERY_LIMIT_EXCEEDED');
      assert.equal(body.errors[0]!.extensions.limit, limit);
      assert.equal(body.errors[0]!.extensions.max, max);
      assert.equal(r.queries, 0, 'no database query, not even for the caller');
      assert.equal(r.tasks, 0, 'no task queued');
    });
  }

  test('batch: up to GRAPHQL_MAX_BATCH operations run; one more refuses the whole request before any of them runs', async () => {
    const op = { query: '{ me { id } }' };
    const ok = await send([op, op]);
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(ok.json) && ok.json.length === 2);
    assert.ok(ok.queries > 0);

    const refused = await send([op, op, op]);
    assert.equal(refused.status, 400);
    const body = refused.json as { errors: { extensions: Record<string, unknown> }[] };
    assert.deepEqual(body.errors[0]!.extensions, { code: 'QUERY_LIMIT_EXCEEDED', limit: 'batch', max: 2, value: 3 });
    assert.equal(refused.queries, 0);
  });

  test('`me` is loaded once per request however many times it is selected', async () => {
    const once = await send({ query: '{ me { id } }' });
    const thrice = await send({ query: '{ a: me { id } b: me { email } c: me { role } }' });
    assert.equal((thrice.json as { errors?: unknown }).errors, undefined);
    assert.equal(thrice.queries, once.queries, 'three selections cost what one does: the session lookup and one user row');
    const batch = await send([{ query: '{ me { id } }' }, { query: '{ me { email } }' }]);
    assert.equal(batch.queries, once.queries, 'the operations of a batch share the caller and the row');
  });

  test('a refusal is logged and counted like any operation, with its code', async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'limits-log' },
      body: JSON.stringify({ query: CASES[1]!.over }),
    });
    assert.equal(res.status, 400);
    const line = s.logs.find((l) => l.requestId === 'limits-log');
    assert.equal(line?.outcome, 'QUERY_LIMIT_EXCEEDED');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /strongroom_graphql_operation_duration_seconds_count\{operation="unresolved",outcome="QUERY_LIMIT_EXCEEDED"\} [1-9]/);
  });
});
