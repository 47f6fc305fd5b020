/**
 * Every path by which graphql-js, Apollo or Fastify answers a request before our resolvers run,
 * driven over HTTP: each answers with the code we expect, and that code is one of the one list
 * (src/errors.ts ERROR_CODES, documented in the README's Errors table).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ERROR_CODES } from '../../src/errors.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('error codes a client can see', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ BODY_LIMIT_BYTES: '4096' });
  });
  after(() => s?.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (query: string) => fetch(`${s.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { 'apollo-require-preflight': 'true' } });

  const PATHS: { what: string; send: () => Promise<Response>; code: string; status: number }[] = [
    { what: 'a syntax error', send: () => post({ query: '{ health ' }), code: 'GRAPHQL_PARSE_FAILED', status: 400 },
    { what: 'an unknown field', send: () => post({ query: '{ nope }' }), code: 'GRAPHQL_VALIDATION_FAILED', status: 400 },
    {
      what: 'a variable of the wrong type',
      send: () => post({ query: 'query ($n: Int!) { systemSelfTest(iterations: $n) { digest } }', variables: { n: 'many' } }),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      what: 'several operations and no operationName',
      send: () => post({ query: 'query A { __typename } query B { __typename }' }),
      code: 'OPERATION_RESOLUTION_FAILURE',
      status: 400,
    },
    {
      what: 'an operationName that names none',
      send: () => post({ query: 'query A { __typename }', operationName: 'B' }),
      code: 'OPERATION_RESOLUTION_FAILURE',
      status: 400,
    },
    {
      what: 'a persisted query the server does not know',
      send: () => post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }),
      code: 'PERSISTED_QUERY_NOT_FOUND',
      status: 200,
    },
    {
      what: 'a persisted query whose hash is not its text',
      send: () => post({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }),
      code: 'BAD_REQUEST',
      status: 400,
    },
    {
      what: 'an unknown persisted-query version',
      send: () => post({ query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'ab'.repeat(32) } } }),
      code: 'BAD_REQUEST',
      status: 400,
    },
    { what: 'no query at all', send: () => post({ variables: {} }), code: 'BAD_REQUEST', status: 400 },
    {
      what: 'a GET without a preflight header (CSRF)',
      send: () => fetch(`${s.url}/graphql?query=${encodeURIComponent('{ __typename }')}`),
      code: 'BAD_REQUEST',
      status: 400,
    },
    { what: 'a mutation over GET', send: () => get('mutation { signOut }'), code: 'METHOD_NOT_ALLOWED', status: 405 },
    { what: 'a document over a limit', send: () => post({ query: `{ ${'__typename '.repeat(30)}}` }), code: 'QUERY_LIMIT_EXCEEDED', status: 400 },
    { what: 'a document over the token limit', send: () => post({ query: `{ ${'a '.repeat(1001)}}` }), code: 'QUERY_LIMIT_EXCEEDED', status: 400 },
    { what: 'a batch', send: () => post([{ query: '{ __typename }' }]), code: 'QUERY_LIMIT_EXCEEDED', status: 400 },
    { what: 'malformed JSON', send: () => post('{"query": '), code: 'BAD_REQUEST', status: 400 },
    {
      what: 'JSON nested deeper than BODY_MAX_DEPTH',
      send: () => post(`{"query":"{ __typename }","variables":{"a":${'['.repeat(1000)}${']'.repeat(1000)}}}`),
      code: 'BAD_REQUEST',
      status: 400,
    },
    { what: 'a body over the limit', send: () => post({ query: `{ __typename } #${'x'.repeat(5000)}` }), code: 'PAYLOAD_TOO_LARGE', status: 413 },
    { what: 'an unknown route', send: () => fetch(`${s.url}/nowhere`), code: 'NOT_FOUND', status: 404 },
    { what: 'a sign-in-only field without a token', send: () => post({ query: '{ me { id } }' }), code: 'UNAUTHENTICATED', status: 200 },
  ];

  for (const { what, send, code, status } of PATHS) {
    test(`${what}: ${code}, one of ours`, async () => {
      const res = await send();
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      assert.equal(res.status, status);
      assert.equal(body.errors[0]?.extensions.code, code);
      assert.ok(code in ERROR_CODES, `${code} is in ERROR_CODES`);
    });
  }
});
