/**
 * Production mode (NODE_ENV=production): what `npm start` refuses to start without, and what a
 * production server shows a client: no introspection, no "Did you mean", no GraphiQL, /metrics
 * behind a token or on its own listener, and nothing internal in any error.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERROR_CODES } from '../../src/errors.ts';
import { startProcess } from '../helpers/process.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { signedInHeaders } from '../helpers/users.ts';

const METRICS_TOKEN = 'production-test-metrics-token';

/**
 * Anything in an answer that only the server should know. (Apollo's CSRF refusal names the
 * headers `apollo-require-preflight` and `x-apollo-operation-name`: a client needs those.)
 */
const INTERNAL = /stack|exception|\n\s+at |FST_[A-Z_]+|apollo ?server|node_modules|\.ts:\d+|select |insert |params:/i;

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** Writes raw bytes to the server and reads the whole answer (for requests fetch would not send). */
function raw(url: string, bytes: string): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(bytes));
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
  });
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, text: await res.text() };
}

describe('production mode', () => {
  describe('starting', () => {
    const dirs: string[] = [];
    after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

    test('npm start refuses without DATABASE_URL, SMTP_URL and a private /metrics, listing every reason with the invalid values, before it opens anything', async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-prod-'));
      dirs.push(dataDir);
      const p = startProcess({ NODE_ENV: 'production', PORT: 'eighty', DATA_DIR: dataDir, LOG_LEVEL: 'info' });
      assert.equal(await p.exited, 78);
      const stderr = p.stderr();
      assert.match(stderr, /PORT must be a whole number/);
      assert.match(stderr, /DATABASE_URL must be set in production/);
      assert.match(stderr, /SMTP_URL must be set in production/);
      assert.match(stderr, /METRICS_TOKEN or METRICS_PORT must be set in production/);
      assert.deepEqual(await readdir(dataDir), [], 'no embedded database, no outbox, nothing created');
    });

    test('with them given, only what is still missing is listed', async () => {
      const p = startProcess({ NODE_ENV: 'production', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', METRICS_PORT: '0' });
      assert.equal(await p.exited, 78);
      assert.doesNotMatch(p.stderr(), /DATABASE_URL|METRICS/);
      assert.match(p.stderr(), /SMTP_URL must be set in production/);
    });
  });

  describe('a production server', () => {
    let prod: TestServer;
    let separate: TestServer;
    let dev: TestServer;
    let dataDir: string;

    before(async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-prod-'));
      [prod, separate, dev] = await Promise.all([
        startTestServer({ NODE_ENV: 'production', METRICS_TOKEN, DATA_DIR: dataDir, WORKER_THREADS: '1' }),
        startTestServer({ NODE_ENV: 'production', METRICS_PORT: '0', WORKER_THREADS: '1' }),
        startTestServer({ WORKER_THREADS: '1' }),
      ]);
    });
    after(async () => {
      await Promise.all([prod?.close(), separate?.close(), dev?.close()]);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    test('refuses introspection, without naming the server software', async () => {
      const res = await prod.gql('{ __schema { types { name } } }');
      assert.equal(res.status, 400);
      assert.equal(res.body.data, undefined);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
      assert.doesNotMatch(JSON.stringify(res.body), /apollo/i);
      assert.ok((await dev.gql('{ __schema { types { name } } }')).body.data, 'outside production it answers');
    });

    test('gives no "Did you mean" suggestions, in validation or for variables', async () => {
      const typo = '{ helth { status } }';
      assert.match(JSON.stringify((await dev.gql(typo)).body), /Did you mean/, 'outside production it suggests');
      const validation = await prod.gql(typo);
      assert.equal(validation.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
      assert.doesNotMatch(JSON.stringify(validation.body), /Did you mean/);

      const enumTypo = 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }';
      const input = { email: 'a@example.test', username: 'a', password: 'long enough password', role: 'ADMN' };
      assert.match(JSON.stringify((await dev.gql(enumTypo, { input })).body), /Did you mean/);
      const variables = await prod.gql(enumTypo, { input });
      assert.equal(variables.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.doesNotMatch(JSON.stringify(variables.body), /Did you mean/);
    });

    test('serves no GraphiQL, not even its assets', async () => {
      const page = await fetch(`${prod.url}/graphql`, { headers: { accept: 'text/html' } });
      assert.doesNotMatch(await page.text(), /GraphiQL|graphiql/);
      assert.equal((await fetch(`${prod.url}/graphiql/assets/graphiql.min.js`)).status, 404);
    });

    test('/metrics needs the bearer token', async () => {
      const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-of-some-length' }, { authorization: METRICS_TOKEN }];
      for (const headers of attempts) {
        const res = await fetch(`${prod.url}/metrics`, { headers });
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.equal(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, 'UNAUTHENTICATED');
      }
      const ok = await fetch(`${prod.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /strongroom_worker_threads/);
    });

    test('/metrics on its own listener is not on the API port', async () => {
      assert.equal((await fetch(`${separate.url}/metrics`)).status, 404);
      const metricsUrl = separate.server.metricsUrl();
      assert.ok(metricsUrl && metricsUrl !== separate.url);
      const res = await fetch(`${metricsUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /strongroom_event_loop_lag_p99_seconds/);
      assert.equal((await fetch(`${metricsUrl}/graphql`, { method: 'POST' })).status, 404, 'and the metrics listener serves nothing else');
    });

    test('no stack trace, internal code or message reaches a client, whatever goes wrong', async () => {
      const url = prod.url;
      const json = { 'content-type': 'application/json' };
      const answers: Record<string, Answer> = {
        'unknown route': await answer(await fetch(`${url}/nowhere`)),
        'URL that does not decode': await raw(url, 'GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        'malformed request line': await raw(url, 'NOT HTTP AT ALL\r\n\r\n'),
        'oversized headers': await raw(url, `GET /graphql HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
        'malformed JSON': await answer(await fetch(`${url}/graphql`, { method: 'POST', headers: json, body: '{"query": ' })),
        'wrong content type': await answer(await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<q/>' })),
        'JSON that is not an operation': await answer(await fetch(`${url}/graphql`, { method: 'POST', headers: json, body: '{"nope": 1}' })),
        'CSRF refusal': await answer(await fetch(`${url}/graphql?query=${encodeURIComponent('{ __typename }')}`)),
        'mutation over GET': await answer(
          await fetch(`${url}/graphql?query=${encodeURIComponent('mutation { signOut }')}`, { headers: { 'apollo-require-preflight': 'true' } }),
        ),
        'syntax error': await answer(await fetch(`${url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query: 'qwerty cop { abc }' }) })),
        'validation error': await answer(await fetch(`${url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query: '{ nope }' }) })),
        'unknown persisted query': await answer(
          await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }),
          }),
        ),
        'body over the limit': await answer(
          await fetch(`${url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query: `{ __typename } #${'x'.repeat(1_100_000)}` }) }),
        ),
        'bad token': await answer(
          await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { ...json, authorization: 'Bearer not-a-jwt' },
            body: JSON.stringify({ query: '{ me { id } }' }),
          }),
        ),
      };
      for (const [what, a] of Object.entries(answers)) {
        assert.match(a.text, /"errors":\[\{"message":/, `${what} is answered in the one error format`);
        assert.doesNotMatch(a.text, INTERNAL, `${what}: ${a.text.slice(0, 300)}`);
        for (const code of a.text.matchAll(/"code":"([A-Z_]+)"/g)) assert.ok(code[1]! in ERROR_CODES, `${what}: ${code[1]} is one of ours`);
      }
    });

    test('a failure of our own (the auth database gone) is masked, with a correlation id in the log', async () => {
      const broken = await startTestServer({ NODE_ENV: 'production', METRICS_TOKEN, DATA_DIR: dataDir, WORKER_THREADS: '1' });
      try {
        const auth = await signedInHeaders(broken);
        await broken.databases.auth.pool.end();
        const res = await broken.gql('{ me { id } }', {}, auth);
        assert.equal(res.status, 500);
        const error = res.body.errors?.[0];
        assert.equal(error?.extensions?.code, 'INTERNAL_SERVER_ERROR');
        assert.doesNotMatch(JSON.stringify(res.body), INTERNAL);
        const correlationId = error?.extensions?.correlationId;
        assert.ok(broken.logs.some((l) => l.correlationId === correlationId && l.msg === 'unexpected error'));
      } finally {
        await broken.close();
      }
    });
  });
});
