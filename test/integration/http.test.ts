import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('GraphQL over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ BODY_LIMIT_BYTES: '4096' });
  });
  after(() => s.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  test('health answers OK with both databases reachable', async () => {
    const res = await s.gql<{ health: { status: string; version: string; databases: { name: string; reachable: boolean; roundTripMs: number }[] } }>(
      '{ health { status version databases { name reachable roundTripMs } } }',
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.data?.health.status, 'OK');
    assert.match(res.body.data!.health.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(
      res.body.data!.health.databases.map((d) => [d.name, d.reachable]),
      [
        ['DATA', true],
        ['AUTH', true],
      ],
    );
    assert.equal(res.headers.get('content-type'), 'application/graphql-response+json; charset=utf-8');
  });

  test('plain application/json clients get application/json back', async () => {
    const res = await post(JSON.stringify({ query: '{ health { status } }' }), { accept: 'application/json' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), { data: { health: { status: 'OK' } } });
  });

  test('a document that does not validate is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await s.gql('{ health { nope } }');
    assert.equal(res.status, 400);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  });

  test('a syntax error is GRAPHQL_PARSE_FAILED', async () => {
    const res = await s.gql('{ health { ');
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
  });

  test('malformed JSON is a 400 with a coded GraphQL error', async () => {
    const res = await post('{"query": ');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'BAD_REQUEST');
  });

  test('a body over the limit is a 413', async () => {
    const res = await post(JSON.stringify({ query: `{ health { status } } #${'x'.repeat(5000)}` }));
    assert.equal(res.status, 413);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'PAYLOAD_TOO_LARGE');
  });

  test('a simple cross-site request is refused (CSRF prevention)', async () => {
    const res = await fetch(`${s.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`);
    assert.equal(res.status, 400);
    const ok = await fetch(`${s.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(ok.status, 200);
  });

  test('a mutation over GET is refused with 405 METHOD_NOT_ALLOWED', async () => {
    const res = await fetch(`${s.url}/graphql?query=${encodeURIComponent('mutation { signOut }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'METHOD_NOT_ALLOWED');
  });

  test('an unknown route is a 404 in JSON', async () => {
    const res = await fetch(`${s.url}/nowhere`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'NOT_FOUND');
  });

  test('the server keeps serving after bad requests', async () => {
    const res = await s.gql<{ health: { status: string } }>('{ health { status } }');
    assert.equal(res.body.data?.health.status, 'OK');
  });

  test('a browser asking for /graphql gets GraphiQL with a strict CSP', async () => {
    const res = await fetch(`${s.url}/graphql`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await res.text(), /\/graphiql\/assets\/graphiql\.min\.js/);
  });

  test('probes: /healthz is alive and /readyz is ready on a migrated database', async () => {
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    const ready = await fetch(`${s.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  test('each operation is logged once with its id, name, duration and outcome, never its variables', async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-log-test' },
      body: JSON.stringify({ query: 'query Probe { health { status } }', operationName: 'Probe', variables: { v: 'TOP-SECRET-VALUE' } }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'req-log-test');
    const lines = s.logs.filter((l) => l.requestId === 'req-log-test');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.operationName, 'Probe');
    assert.equal(lines[0]!.outcome, 'ok');
    assert.equal(typeof lines[0]!.durationMs, 'number');
    assert.doesNotMatch(JSON.stringify(s.logs), /TOP-SECRET-VALUE/);
  });
});
