/**
 * A database connection that drops mid-query (a network fault, a restarted server) fails
 * the request with INTERNAL_SERVER_ERROR, and the log line says what failed without the
 * SQL or its parameters: drizzle's message (`Failed query: … params: …`) never reaches it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDatabaseProxy, type DatabaseProxy } from '../helpers/db-proxy.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { aUser, signIn } from '../helpers/users.ts';

describe('a dropped database connection', () => {
  let proxy: DatabaseProxy;
  let s: TestServer;
  before(async () => {
    proxy = await startDatabaseProxy(process.env.TEST_AUTH_DATABASE_URL!);
    s = await startTestServer({ AUTH_DATABASE_URL: proxy.url });
  });
  after(async () => {
    await s.close();
    await proxy.close();
  });

  test('a query whose connection drops leaves neither its SQL nor its parameters in the log', async () => {
    const user = await aUser(s).create();
    // The sign-in's lookup of the account sends the email as a parameter: its connection ends there.
    proxy.cutWhen(user.email);
    const res = await signIn(s, user);
    assert.equal(proxy.cuts, 1, 'the connection was cut mid-query');
    const error = res.body.errors?.[0];
    assert.equal(error?.extensions?.code, 'INTERNAL_SERVER_ERROR');
    const line = s.logs.find((l) => l.msg === 'unexpected error' && l.correlationId === error?.extensions?.correlationId);
    assert.ok(line, 'the failure is logged with the correlation id the client got');
    assert.match(String(line.errorType), /DrizzleQueryError <- Error/, 'the log names the classes along the cause chain');
    const logged = JSON.stringify(s.logs);
    assert.ok(!logged.includes(user.email), 'the email (a query parameter) is not in the log');
    assert.doesNotMatch(logged, /Failed query|params:|from "auth"/);
    assert.doesNotMatch(JSON.stringify(res.body), /Failed query|example\.test/);
  });

  test('the server answers again once the connection is replaced', async () => {
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    assert.ok(res.body.data?.signIn.challenge, JSON.stringify(res.body.errors));
  });
});
