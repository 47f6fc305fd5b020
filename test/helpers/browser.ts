/**
 * Headless Chromium for browser tests. puppeteer-core downloads nothing, so the executable is the
 * system one: PUPPETEER_EXECUTABLE_PATH, else Debian's /usr/bin/chromium.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Flags for a sandbox-less container and a closed network: no GPU, no /dev/shm, no background calls home. */
export const BROWSER_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/**
 * Launches headless Chromium with a fresh temporary profile (no state shared between tests);
 * `browser.close()` also deletes that profile directory.
 */
export async function launchBrowser(options: { extraArgs?: readonly string[] } = {}): Promise<Browser> {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'strongroom-chromium-'));
  const removeProfile = (): Promise<void> => rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || '/usr/bin/chromium',
      headless: true,
      userDataDir,
      args: [...BROWSER_ARGS, ...(options.extraArgs ?? [])],
    });
  } catch (error) {
    await removeProfile();
    throw error;
  }
  const close = browser.close.bind(browser);
  browser.close = async () => {
    try {
      await close();
    } finally {
      await removeProfile();
    }
  };
  return browser;
}

/** What a watched page did: every request, those that would have left the machine, local failures, console errors. */
export interface PageWatch {
  /** Every URL the page asked for (first 100 characters). */
  readonly requests: string[];
  /** Requests that would have left 127.0.0.1/localhost; they are aborted. */
  readonly foreign: string[];
  /** Local requests that failed or answered >= 400. */
  readonly failures: string[];
  /** console.error lines and uncaught errors (CSP violations included, see {@link watchPage}). */
  readonly consoleErrors: string[];
}

/** True for data:, blob: and http(s)/ws URLs on 127.0.0.1 or localhost. */
export function isLocalUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:') return true;
  return ['http:', 'https:', 'ws:'].includes(protocol) && (hostname === '127.0.0.1' || hostname === 'localhost');
}

/**
 * Intercepts every request of `page`: local ones go through, anything else is aborted and
 * recorded, so a test can assert that nothing left the machine. CSP violations are reported
 * as console errors by a listener injected through DevTools (it runs despite the CSP).
 */
export async function watchPage(page: Page): Promise<PageWatch> {
  const watch: PageWatch = { requests: [], foreign: [], failures: [], consoleErrors: [] };
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') watch.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watch.consoleErrors.push(`uncaught: ${String(error)}`));
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    watch.requests.push(url.slice(0, 100));
    if (isLocalUrl(url)) return void request.continue();
    watch.foreign.push(url);
    void request.abort('blockedbyclient');
  });
  page.on('requestfailed', (request) => {
    if (isLocalUrl(request.url())) watch.failures.push(`${request.url().slice(0, 100)}: ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) watch.failures.push(`${response.url()}: HTTP ${response.status()}`);
  });
  return watch;
}
