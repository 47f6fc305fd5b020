/**
 * The PDF renderer: one headless Chromium per render process, driven with puppeteer-core.
 *
 * - Launched lazily, on the first PDF; relaunched when it dies (the next render after a
 *   crash gets a new browser); recycled after `recycleAfter` renders (Gotenberg restarts
 *   Chromium after 100 for memory): new renders go to a new browser, the old one closes once
 *   its last render is done.
 * - A pool of reused pages (a new page per PDF costs several times more).
 * - Nothing leaves the page. Every request that is not `data:` or `about:` is aborted by
 *   request interception; JavaScript is disabled; the network is emulated offline; and, in
 *   case anything slips past the page (a service worker, a prefetch), the browser's proxy is
 *   a dead local port for every host, loopback included, and host names do not resolve.
 * - A time limit per render; a page that overran is closed, never reused.
 *
 * This runs on the main thread: driving Chromium is I/O over a pipe, and Chromium's own
 * work (layout, printing) happens in its own processes. The browser is a long-lived resource
 * created by whoever runs the render loop (src/main.ts, src/worker.ts) and closed on shutdown.
 */
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';
import type { Logger } from '../logger.ts';

/** Launch flags for a sandbox-less container with no business on the network. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-extensions',
  '--disable-sync',
  '--mute-audio',
  // Belt and braces behind request interception: every host through a proxy on a dead
  // port (`<-loopback>` removes Chromium's implicit bypass for localhost), and no DNS.
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=<-loopback>',
  '--host-resolver-rules=MAP * ~NOTFOUND',
];

/** Chromium cannot be started (missing, not executable, or it fails to launch). */
export class RendererUnavailableError extends Error {
  constructor(reason: string) {
    super(`Chromium is not available: ${reason}`);
    this.name = 'RendererUnavailableError';
  }
}

/** The browser died (was killed, crashed) during the render. Another attempt may succeed. */
export class RendererCrashedError extends Error {
  constructor() {
    super('Chromium went away during the render');
    this.name = 'RendererCrashedError';
  }
}

/** The render did not finish within its time limit. */
export class RenderTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The render did not finish within ${timeoutMs} ms`);
    this.name = 'RenderTimeoutError';
  }
}

export interface RendererOptions {
  /** Chromium to run (PUPPETEER_EXECUTABLE_PATH, default /usr/bin/chromium). */
  readonly executablePath: string;
  /** Pages kept open and reused; also how many renders run at once. */
  readonly pages: number;
  /** Replace the browser after this many renders; 0: never. */
  readonly recycleAfter: number;
  /** Time limit of one render, ms. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

export interface RendererStats {
  /** Browsers launched so far. */
  readonly launches: number;
  /** PDFs printed so far. */
  readonly renders: number;
  /** Requests pages tried to make and were refused. */
  readonly blockedRequests: number;
  /** Whether a browser is running now. */
  readonly running: boolean;
}

export interface Renderer {
  /** Prints `html` to a PDF (A4, backgrounds, the document's own @page rules). */
  pdf(html: string): Promise<Uint8Array>;
  stats(): RendererStats;
  /** Process id of the running browser, if any (operators and tests). */
  browserPid(): number | undefined;
  /** Closes the browser; later renders fail. */
  close(): Promise<void>;
}

interface Generation {
  readonly browser: Browser;
  readonly profile: string;
  readonly idle: Page[];
  open: number;
  renders: number;
  inFlight: number;
  dead: boolean;
  retiring: boolean;
}

const ALLOWED = /^(data|about):/i;

export function createRenderer(options: RendererOptions): Renderer {
  const { logger } = options;
  let current: Promise<Generation> | undefined;
  let closed = false;
  let launches = 0;
  let renders = 0;
  let blockedRequests = 0;
  const live = new Set<Generation>();
  const waiters: (() => void)[] = [];

  async function launch(): Promise<Generation> {
    try {
      await access(options.executablePath, constants.X_OK);
    } catch {
      throw new RendererUnavailableError(`${options.executablePath} does not exist or is not executable (set PUPPETEER_EXECUTABLE_PATH)`);
    }
    const profile = await mkdtemp(path.join(os.tmpdir(), 'strongroom-chromium-'));
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: options.executablePath,
        headless: true,
        // A pipe, not a port: Chromium exits when this process does, even on kill -9.
        pipe: true,
        userDataDir: profile,
        args: [...CHROMIUM_ARGS],
        timeout: Math.max(options.timeoutMs, 10_000),
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (error) {
      await rm(profile, { recursive: true, force: true });
      logger.error({ errorMessage: (error as Error).message.slice(0, 200) }, 'Chromium failed to launch');
      throw new RendererUnavailableError('it failed to start');
    }
    launches++;
    const generation: Generation = { browser, profile, idle: [], open: 0, renders: 0, inFlight: 0, dead: false, retiring: false };
    live.add(generation);
    browser.on('disconnected', () => {
      generation.dead = true;
      forget(generation);
      if (!generation.retiring && !closed) logger.warn({ pid: browser.process()?.pid }, 'Chromium went away; the next render starts a new one');
      void dispose(generation);
    });
    logger.info({ pid: browser.process()?.pid, launches }, 'Chromium started');
    return generation;
  }

  /** Stops handing out `generation` for new renders. */
  function forget(generation: Generation): void {
    void current?.then((g) => {
      if (g === generation) current = undefined;
    });
  }

  async function dispose(generation: Generation): Promise<void> {
    if (!live.delete(generation)) return;
    await generation.browser.close().catch(() => {});
    await rm(generation.profile, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    wakeWaiters();
  }

  function wakeWaiters(): void {
    for (const wake of waiters.splice(0)) wake();
  }

  async function browserGeneration(): Promise<Generation> {
    for (;;) {
      if (closed) throw new RendererUnavailableError('the renderer is closed');
      if (!current) {
        const launching = launch();
        current = launching;
        launching.catch(() => {
          if (current === launching) current = undefined;
        });
      }
      const generation = await current;
      if (!generation.dead && !generation.retiring) return generation;
      forget(generation);
      if (current && (await current) === generation) current = undefined;
    }
  }

  async function setUpPage(browser: Browser): Promise<Page> {
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.setCacheEnabled(false);
    await page.setOfflineMode(true);
    await page.setRequestInterception(true);
    page.on('request', (request: HTTPRequest) => {
      if (request.isInterceptResolutionHandled()) return;
      if (ALLOWED.test(request.url())) return void request.continue();
      blockedRequests++;
      let where = 'unparsable URL';
      try {
        const url = new URL(request.url());
        where = `${url.protocol}//${url.host}`;
      } catch {}
      logger.warn({ blocked: where, resourceType: request.resourceType() }, 'report page request blocked');
      void request.abort('blockedbyclient');
    });
    return page;
  }

  async function acquirePage(generation: Generation): Promise<Page> {
    for (;;) {
      const idle = generation.idle.pop();
      if (idle && !idle.isClosed()) return idle;
      if (idle) {
        generation.open--;
        continue;
      }
      if (generation.open < options.pages) {
        generation.open++;
        try {
          return await setUpPage(generation.browser);
        } catch (error) {
          generation.open--;
          throw error;
        }
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
      if (generation.dead) throw new RendererCrashedError();
    }
  }

  function releasePage(generation: Generation, page: Page, reusable: boolean): void {
    if (reusable && !generation.dead && !generation.retiring) generation.idle.push(page);
    else {
      generation.open--;
      void page.close().catch(() => {});
    }
    wakeWaiters();
  }

  async function print(page: Page, html: string): Promise<Uint8Array> {
    await page.setContent(html, { waitUntil: 'load', timeout: options.timeoutMs });
    // Untagged: a tagged (accessible) PDF is ~2.6× larger and slower to print and to finish,
    // and its structure tree would not survive pdf-lib's merge and stamping anyway.
    return page.pdf({ printBackground: true, preferCSSPageSize: true, tagged: false, timeout: options.timeoutMs });
  }

  return {
    async pdf(html) {
      const generation = await browserGeneration();
      generation.inFlight++;
      let page: Page | undefined;
      let timer: NodeJS.Timeout | undefined;
      let reusable = false;
      try {
        page = await acquirePage(generation);
        const printing = print(page, html);
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RenderTimeoutError(options.timeoutMs)), options.timeoutMs);
        });
        const bytes = await Promise.race([printing, timeout]);
        printing.catch(() => {});
        reusable = true;
        renders++;
        generation.renders++;
        return bytes;
      } catch (error) {
        if (error instanceof RenderTimeoutError || error instanceof RendererUnavailableError) throw error;
        // Give the 'disconnected' event a moment: a killed browser fails the page first.
        if (!generation.dead) await new Promise((r) => setTimeout(r, 50));
        if (generation.dead || !generation.browser.connected) throw new RendererCrashedError();
        throw error;
      } finally {
        clearTimeout(timer);
        generation.inFlight--;
        if (page) releasePage(generation, page, reusable);
        if (options.recycleAfter > 0 && generation.renders >= options.recycleAfter && !generation.retiring) {
          generation.retiring = true;
          forget(generation);
          logger.info({ renders: generation.renders }, 'Chromium recycled');
        }
        if (generation.retiring && generation.inFlight === 0) void dispose(generation);
      }
    },
    stats: () => ({ launches, renders, blockedRequests, running: [...live].some((g) => !g.dead) }),
    browserPid() {
      for (const g of live) if (!g.dead && !g.retiring) return g.browser.process()?.pid;
      return undefined;
    },
    async close() {
      closed = true;
      current = undefined;
      await Promise.all([...live].map((g) => dispose(g)));
    },
  };
}
