/**
 * GraphiQL must work with no network beyond this server: a real Chromium loads the page under
 * GRAPHIQL_CSP, every request it makes is recorded (anything non-local is aborted and fails the
 * test), and console errors / CSP violations fail it too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildSchema, introspectionFromSchema } from 'graphql';
import type { Browser, Page } from 'puppeteer-core';
import { GRAPHIQL_CSP, graphiqlHtml, registerGraphiqlAssets, wantsGraphiql } from '../../src/http/graphiql.ts';
import { launchBrowser, watchPage, type PageWatch } from '../helpers/browser.ts';

let app: FastifyInstance;
let browser: Browser | undefined;
let page: Page;
let origin: string;

let watch: PageWatch;
const posts: { headers: Record<string, string | string[] | undefined>; body: { query?: string; operationName?: string } }[] = [];

// Answering introspection properly keeps GraphiQL out of its error state, which would otherwise
// print the (fixed) POST response into the result pane before anything is executed.
const introspection = introspectionFromSchema(buildSchema('type Query { health: Health } type Health { status: String version: String }'));

const resultText = (): Promise<string> => page.$eval('.result-window', (element) => (element as HTMLElement).innerText);

before(async () => {
  app = Fastify({ logger: false });
  await registerGraphiqlAssets(app);
  // Stand-in for the real endpoint: the page for browsers on GET, a fixed result on POST.
  app.get('/graphql', async (request, reply) => {
    if (!wantsGraphiql(request.headers.accept)) return reply.code(400).send({ error: 'expected a browser' });
    return reply
      .header('content-security-policy', GRAPHIQL_CSP)
      .type('text/html; charset=utf-8')
      .send(graphiqlHtml({ endpoint: '/graphql' }));
  });
  app.post<{ Body: { query?: string; operationName?: string } }>('/graphql', async (request, reply) => {
    posts.push({ headers: request.headers, body: request.body });
    if (request.body?.operationName === 'IntrospectionQuery') return { data: introspection };
    return reply.type('application/json').send('{"data":{"health":{"status":"OK"}}}');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  browser = await launchBrowser();
  page = await browser.newPage();
  watch = await watchPage(page);
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('assets: fixed list, right types, long cache, no external references', async () => {
  const expected: Record<string, string> = {
    'graphiql.min.js': 'text/javascript',
    'graphiql.min.css': 'text/css',
    'react.production.min.js': 'text/javascript',
    'react-dom.production.min.js': 'text/javascript',
  };
  for (const [file, type] of Object.entries(expected)) {
    const response = await fetch(`${origin}/graphiql/assets/${file}`);
    assert.equal(response.status, 200, file);
    assert.match(response.headers.get('content-type') ?? '', new RegExp(`^${type}`), file);
    assert.match(response.headers.get('cache-control') ?? '', /max-age=31536000/, file);
    const body = await response.text();
    assert.ok(body.length > 1000, file);
    assert.doesNotMatch(body, /sourceMappingURL/, `${file} points at a source map that is not served`);
    if (file.endsWith('.css')) {
      // A future GraphiQL pulling fonts from a CDN would break the closed-network promise.
      assert.doesNotMatch(body, /@import/);
      assert.deepEqual(body.match(/url\((?!\s*["']?data:)[^)]*\)/g), null);
    }
  }
  for (const file of ['graphiql.min.js.map', 'package.json', '..%2Fpackage.json', 'index.js']) {
    assert.equal((await fetch(`${origin}/graphiql/assets/${file}`)).status, 404, file);
  }
});

test('html: interpolated values cannot break out of the page', () => {
  const html = graphiqlHtml({ endpoint: '/graphql', title: '</title><b>x', defaultQuery: '</script><script>alert(1)</script>' });
  assert.doesNotMatch(html, /<\/script><script>alert/);
  assert.match(html, /\\u003c\/script>\\u003cscript>alert\(1\)\\u003c\/script>/);
  assert.match(html, /<title>&#60;\/title&#62;&#60;b&#62;x<\/title>/);
  assert.doesNotMatch(html, /https?:\/\//, 'page references no absolute URL');
});

test('wantsGraphiql: browsers yes, API clients no', () => {
  assert.equal(wantsGraphiql('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), true);
  assert.equal(wantsGraphiql('application/json'), false);
  assert.equal(wantsGraphiql('application/graphql-response+json, application/json;q=0.9'), false);
  assert.equal(wantsGraphiql('*/*'), false);
  assert.equal(wantsGraphiql('text/html;q=0'), false);
  assert.equal(wantsGraphiql(undefined), false);
});

test('browser: GraphiQL renders from local assets with the headers editor open', async () => {
  const response = await page.goto(`${origin}/graphql`, { waitUntil: 'load' });
  assert.equal(response?.status(), 200);
  assert.equal(response?.headers()['content-security-policy'], GRAPHIQL_CSP);
  await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 20_000 });

  const queryText = await page.$eval('.graphiql-query-editor', (element) => (element as HTMLElement).innerText);
  assert.match(queryText, /health\s*\{\s*status\s+version\s*\}/);

  const headersTab = await page.$('.graphiql-editor-tools button[data-name="headers"]');
  assert.ok(headersTab, 'headers tab exists');
  assert.equal(await headersTab.evaluate((button) => button.classList.contains('active')), true, 'headers tab is the open one');
  assert.equal(await page.$$eval('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', (list) => list.length), 1);

  // The settings dialog is where GraphiQL injects a <style> element at runtime; open it so the
  // CSP check below covers that too.
  await page.click('button[aria-label="Open settings dialog"]');
  await page.waitForSelector('.graphiql-dialog', { visible: true });
  await page.keyboard.press('Escape');
  await page.waitForSelector('.graphiql-dialog', { hidden: true });
});

test('browser: execute sends a JSON POST with the pasted headers and shows the result', async () => {
  await page.waitForFunction(() => document.querySelector('.graphiql-execute-button') !== null);
  assert.doesNotMatch(await resultText(), /OK/, 'result pane starts empty');

  // Paste into the visible (headers) CodeMirror, as a user would.
  await page.$eval('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', (element) => {
    (element as unknown as { CodeMirror: { setValue(text: string): void } }).CodeMirror.setValue('{"Authorization": "Bearer test-token"}');
  });
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(() => (document.querySelector('.result-window') as HTMLElement | null)?.innerText.includes('"OK"'), { timeout: 10_000 });

  const executed = posts.filter((post) => post.body?.operationName !== 'IntrospectionQuery');
  assert.equal(executed.length, 1);
  assert.match(executed[0]!.body.query ?? '', /health/);
  assert.match(String(executed[0]!.headers['content-type']), /^application\/json/, 'satisfies Apollo CSRF prevention');
  assert.equal(executed[0]!.headers.authorization, 'Bearer test-token');
  // shouldPersistHeaders: GraphiQL writes them to localStorage (debounced by 500 ms).
  await page.waitForFunction(() => localStorage.getItem('graphiql:headers')?.includes('test-token'), { timeout: 5_000 });
});

test('browser: nothing left localhost, nothing failed, no console errors or CSP violations', () => {
  assert.ok(
    watch.requests.some((url) => url.includes('/graphiql/assets/graphiql.min.js')),
    'requests were observed',
  );
  assert.deepEqual(watch.foreign, []);
  assert.deepEqual(watch.failures, []);
  assert.deepEqual(watch.consoleErrors, []);
});
