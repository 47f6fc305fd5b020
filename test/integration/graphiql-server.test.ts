/**
 * GraphiQL against the real server: the page, its assets and the query all come from
 * createServer() over the test databases. A real Chromium opens /graphql, runs the default
 * query and must see the live health answer, with no request leaving 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchBrowser, watchPage, type PageWatch } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let browser: Browser | undefined;
let page: Page;

let watch: PageWatch;

before(async () => {
  server = await startTestServer();
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  browser = await launchBrowser();
  page = await browser.newPage();
  watch = await watchPage(page);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('executing the default query in GraphiQL shows the live server health', async () => {
  // GraphiQL introspects the schema first; its query must fit the GraphQL limits.
  const introspected = page.waitForResponse((r) => r.request().method() === 'POST' && (r.request().postData() ?? '').includes('IntrospectionQuery'), {
    timeout: 20_000,
  });
  const response = await page.goto(`${server.url}/graphql`, { waitUntil: 'load' });
  assert.equal(response?.status(), 200);
  await page.waitForSelector('.graphiql-execute-button', { timeout: 20_000 });
  const initial = await page.$eval('.result-window', (element) => (element as HTMLElement).innerText);
  assert.doesNotMatch(initial, /"status"/, 'nothing has run yet');

  const answered = page.waitForResponse(
    (r) => r.url() === `${server.url}/graphql` && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('status version'),
  );
  await page.click('.graphiql-execute-button');
  const posted = await answered;
  assert.equal(posted.status(), 200);
  await page.waitForFunction(() => (document.querySelector('.result-window') as HTMLElement | null)?.innerText.includes('"status": "OK"'), {
    timeout: 10_000,
  });
  const result = await page.$eval('.result-window', (element) => (element as HTMLElement).innerText);
  assert.match(result, /"version": "\d+\.\d+\.\d+/, 'the version comes from the server, not a stub');

  const introspection = (await (await introspected).json()) as { data?: { __schema?: unknown }; errors?: unknown };
  assert.equal(introspection.errors, undefined, 'the introspection query is within the limits');
  assert.ok(introspection.data?.__schema);

  // The server saw the operation: one log line, outcome ok.
  const logged = server.logs.filter((line) => line.msg === 'graphql operation' && line.outcome === 'ok');
  assert.ok(logged.length >= 1, 'the operation was logged by the server');
});

test('nothing left 127.0.0.1, nothing failed, no console errors', () => {
  assert.ok(
    watch.requests.some((url) => url.includes('/graphiql/assets/graphiql.min.js')),
    'requests were observed',
  );
  assert.deepEqual(watch.foreign, []);
  assert.deepEqual(watch.failures, []);
  assert.deepEqual(watch.consoleErrors, []);
});
