/**
 * The PDF renderer on a real Chromium: reused pages, recycling, the time limit, and that a
 * page reaches nothing — an SSRF canary (a local HTTP server this test starts) receives no
 * request while hostile HTML and a report whose data points at it are printed.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { createRenderer, type Renderer, RenderTimeoutError, RendererUnavailableError } from '../../src/reports/renderer.ts';
import { aLicence, unique } from '../helpers/builders.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { caller, download, pdfText, requestReport, startReportServer } from '../helpers/reports.ts';

interface Canary {
  readonly url: string;
  readonly hits: string[];
  close(): Promise<void>;
}

async function startCanary(): Promise<Canary> {
  const hits: string[] = [];
  const server = http.createServer((request, response) => {
    hits.push(request.url ?? '');
    response.setHeader('content-type', 'image/svg+xml');
    response.end('<svg xmlns="http://www.w3.org/2000/svg"/>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Every way a page could fetch something, none of them behind the report template's CSP. */
const hostile = (canary: string) => `<!doctype html><html><head>
<link rel="stylesheet" href="${canary}/link.css">
<link rel="prefetch" href="${canary}/prefetch">
<style>@import url("${canary}/import.css"); body { background: url("${canary}/bg.png"); } @font-face { font-family: X; src: url("${canary}/font.woff"); } p { font-family: X; }</style>
</head><body>
<p>hostile</p>
<img src="${canary}/img.png"><img src="file:///etc/passwd"><img src="ftp://127.0.0.1/x">
<iframe src="${canary}/iframe"></iframe><iframe src="file:///etc/passwd"></iframe>
<object data="${canary}/object"></object><embed src="${canary}/embed">
<video poster="${canary}/poster.png" src="${canary}/video.mp4"></video><audio src="${canary}/audio.mp3"></audio>
<svg xmlns="http://www.w3.org/2000/svg"><image href="${canary}/svg-image.png" width="10" height="10"/></svg>
<script>fetch("${canary}/fetch"); new Image().src = "${canary}/script-image";</script>
<form action="${canary}/form"><input type="image" src="${canary}/input.png"></form>
</body></html>`;

describe('the PDF renderer', () => {
  let canary: Canary;
  let renderer: Renderer;
  before(async () => {
    canary = await startCanary();
    renderer = createRenderer({
      executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || '/usr/bin/chromium',
      pages: 2,
      recycleAfter: 3,
      timeoutMs: 30_000,
      logger: createLogger('silent'),
    });
  });
  after(async () => {
    await renderer.close();
    await canary.close();
  });

  test('the canary answers a plain Chromium page, so it would notice a request', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${canary.url}/control`);
    } finally {
      await browser.close();
    }
    await new Promise((r) => setTimeout(r, 300)); // and its favicon request, if any
    assert.ok(canary.hits.splice(0).includes('/control'));
  });

  test('hostile HTML prints to a PDF while the canary receives no request, and the renderer counts what it blocked', async () => {
    const before = renderer.stats().blockedRequests;
    const pdf = await renderer.pdf(hostile(canary.url));
    assert.equal(Buffer.from(pdf.subarray(0, 5)).toString(), '%PDF-');
    assert.match(await pdfText(pdf), /hostile/);
    assert.doesNotMatch(await pdfText(pdf), /root:/, 'no file was read into the page');
    // A page that navigates itself away prints whatever it ends on, or fails when the
    // navigation lands mid-print; either way it has fetched nothing.
    await renderer.pdf(`<meta http-equiv="refresh" content="0; url=${canary.url}/refresh"><p>moving</p>`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300)); // anything late would have arrived by now
    assert.deepEqual(canary.hits, []);
    assert.ok(renderer.stats().blockedRequests > before, 'request interception saw and refused them');
  });

  test('pages are reused, and the browser is replaced after its number of renders', async () => {
    const start = renderer.stats();
    for (let i = 0; i < 4; i++) await renderer.pdf(`<p>render ${i}</p>`);
    const end = renderer.stats();
    assert.equal(end.renders - start.renders, 4);
    assert.ok(end.launches > start.launches, 'recycled after 3 renders');
  });

  test('a render past its time limit fails with a timeout, and an executable that is not there makes the renderer unavailable', async () => {
    const slow = createRenderer({
      executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || '/usr/bin/chromium',
      pages: 1,
      recycleAfter: 0,
      timeoutMs: 1000,
      logger: createLogger('silent'),
    });
    try {
      // A page that lays out for a long time: a huge table.
      const rows = '<tr><td>x</td><td>y</td><td>z</td></tr>'.repeat(400_000);
      await assert.rejects(slow.pdf(`<table>${rows}</table>`), RenderTimeoutError);
      assert.match(await pdfText(await slow.pdf('<p>after the timeout</p>')), /after the timeout/, 'the next render works');
    } finally {
      await slow.close();
    }
    const missing = createRenderer({ executablePath: '/nonexistent/chromium', pages: 1, recycleAfter: 0, timeoutMs: 1000, logger: createLogger('silent') });
    await assert.rejects(missing.pdf('<p>x</p>'), RendererUnavailableError);
    await missing.close();
  });
});

describe('a report whose data points at the canary', () => {
  test('renders as PDF and HTML with the canary receiving no request', async () => {
    const canary = await startCanary();
    const s = await startReportServer();
    try {
      const application = `<img src="${canary.url}/app.png"><link rel=stylesheet href="${canary.url}/a.css"><iframe src="file:///etc/passwd"></iframe> ${unique('')}`;
      const source = `<style>body{background:url(${canary.url}/bg)}</style>`;
      await aLicence()
        .forApplication(application)
        .withEvent(`<img src=${canary.url}/kind>`, new Date('2026-03-03T10:00:00Z'), source)
        .create(s.server.services);
      const { headers } = await caller(s, 'ANALYST');
      const input = { from: '2026-03-02', to: '2026-03-08', applications: [application] };
      const pdf = (await requestReport(s, headers, input, 120)).body.data!.requestReport;
      assert.equal(pdf.status, 'SUCCEEDED');
      const text = await pdfText(new Uint8Array(await (await download(s, pdf.downloadUrl!)).arrayBuffer()));
      assert.ok(text.includes(`<img src="${canary.url}/app.png">`), 'the name is printed as text');
      const html = (await requestReport(s, headers, { ...input, format: 'HTML' }, 120)).body.data!.requestReport;
      const body = await (await download(s, html.downloadUrl!)).text();
      assert.ok(!body.includes(`<img src="${canary.url}`));
      // Open the HTML report in a browser too, as a person would: still nothing.
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.setContent(body, { waitUntil: 'load' });
      } finally {
        await browser.close();
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(canary.hits, []);
    } finally {
      await s.close();
      await canary.close();
    }
  });
});
