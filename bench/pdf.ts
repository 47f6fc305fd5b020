/**
 * bench/pdf: sustained PDF reports per second and the latency of one, for the standard weekly
 * report (12 weeks, 6 applications, 5 sources, two charts; with its one-page appendix),
 * each counted from the statistics query to the finished file (query, templates and charts
 * in the worker pool, Chromium's print, appendix merge and page numbers in the pool).
 *
 * Ours (a pool of reused pages in one long-lived Chromium, REPORT_CONCURRENCY reports at
 * once) beside two baselines from the same run, over the same pipeline:
 *   (a) a new Puppeteer page per PDF in the same long-lived browser (set up the same way);
 *   (b) a browser launch per PDF (measured on a few reports: each costs a second or so).
 * And a light query's p99 (`{ health { status } }`, 50/s from another process) while ours
 * runs, beside idle. Goal (issue 12): ≥ 30 reports/s and p50 ≤ 60 ms on 2 cores; light p99
 * ≤ 2× idle.
 *
 *   npm run bench -- pdf [--duration=5] [--rounds=3] [--warmup=3]
 */
import { systemCaller } from '../src/services/auth/caller.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createLogger } from '../src/logger.ts';
import { createRenderer, CHROMIUM_ARGS, type Renderer } from '../src/reports/renderer.ts';
import { createServer } from '../src/server.ts';
import { produceReport, type ProduceDeps } from '../src/services/reports/produce.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { openBenchDatabases } from './lib/databases.ts';
import type { LoadJob } from './lib/light-load.ts';
import { benchOptions } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { median, percentile } from './lib/stats.ts';
import { benchConfig } from './lib/server.ts';

const options = benchOptions();
const config = benchConfig({ LOG_LEVEL: 'silent', REPORT_RENDERING: 'off' });
const logger = createLogger('silent');
const databases = await openBenchDatabases(config);
const pool = openWorkerPool(config, logger);
const server = await createServer({ config, logger, databases, keyring: databases.keyring, pool });
const url = await server.listen();

// The standard data: 6 applications × 5 sources × 5 kinds, a few events of each a week for 12 weeks.
const APPLICATIONS = ['Atlas Desktop', 'Beacon CLI', 'Compass Server', 'Delta Mobile', 'Echo Web', 'Falcon SDK'];
for (const [i, application] of APPLICATIONS.entries()) {
  const licence = await server.services.licences.create({ username: `bench-${i}`, application, licenceKey: `KEY-${i}` });
  await databases.data.pool.query(
    `insert into licensing.licence_events (licence_id, application, source, kind, occurred_at)
     select $1, $2, (array['api','desktop','installer','mobile','web'])[1 + (n % 5)],
            (array['activated','deactivated','expired','renewed','validated'])[1 + (n / 5 % 5)],
            timestamptz '2026-01-05' + (n * 997 % (84 * 86400)) * interval '1 second'
     from generate_series(0, 1499) n`,
    [licence.id, application],
  );
}
const PARAMETERS = { from: '2026-01-05', to: '2026-03-29', applications: null, sources: null, timeZone: 'UTC' } as const;
const CALLER = systemCaller('pdf benchmark');
const executablePath = config.chromiumPath;

/** Baseline (a): one long-lived browser, a new page per PDF (set up as ours are), closed after. */
function newPagePerPdf(browser: Browser): Renderer {
  return {
    async pdf(html) {
      const page: Page = await browser.newPage();
      try {
        await page.setJavaScriptEnabled(false);
        await page.setRequestInterception(true);
        page.on('request', (r) => void (/^(data|about):/.test(r.url()) ? r.continue() : r.abort('blockedbyclient')));
        await page.setContent(html, { waitUntil: 'load' });
        return await page.pdf({ printBackground: true, preferCSSPageSize: true, tagged: false });
      } finally {
        await page.close();
      }
    },
    stats: () => ({ launches: 1, renders: 0, blockedRequests: 0, running: true }),
    browserPid: () => undefined,
    close: async () => {},
  };
}

/** Baseline (b): a browser launched (and closed) for every PDF. */
const launchPerPdf: Renderer = {
  async pdf(html) {
    const browser = await puppeteer.launch({ executablePath, headless: true, pipe: true, args: [...CHROMIUM_ARGS] });
    try {
      return await newPagePerPdf(browser).pdf(html);
    } finally {
      await browser.close();
    }
  },
  stats: () => ({ launches: 0, renders: 0, blockedRequests: 0, running: false }),
  browserPid: () => undefined,
  close: async () => {},
};

const deps = (renderer: Renderer): ProduceDeps => ({
  statistics: server.services.statistics,
  pool,
  renderer,
  appendices: config.reportAppendices,
  now: () => new Date(),
});

/** `concurrency` producers in a closed loop for `seconds`; every report's latency in ms. */
async function sustained(renderer: Renderer, seconds: number, concurrency: number): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  const d = deps(renderer);
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        const report = await produceReport(d, { caller: CALLER, format: 'PDF', parameters: PARAMETERS, deadline: t + 60_000 });
        if (report.pageCount === null || report.pageCount < 2) throw new Error('the report did not render');
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { perSecond: latencies.length / ((performance.now() - started) / 1000), latencies };
}

/** The light query's latencies from another process at 50/s for `seconds`. */
function lightLoad(seconds: number): Promise<number[]> {
  const job: LoadJob = { url, rate: 50, seconds, body: JSON.stringify({ query: '{ health { status } }' }) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lib/light-load.ts', import.meta.url)), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`load generator exited with ${code}`))));
  });
}

const ours = createRenderer({ executablePath, pages: config.reportConcurrency, recycleAfter: config.reportChromiumRecycleAfter, timeoutMs: 60_000, logger });
const browser = await puppeteer.launch({ executablePath, headless: true, pipe: true, args: [...CHROMIUM_ARGS] });
const newPage = newPagePerPdf(browser);
const concurrency = config.reportConcurrency;
try {
  process.stdout.write(`# warm-up ${options.warmupSeconds} s each; ${options.rounds} rounds of ${options.durationSeconds} s; ${concurrency} reports at once\n`);
  await sustained(ours, options.warmupSeconds, concurrency);
  await sustained(newPage, options.warmupSeconds, concurrency);
  const idle = await lightLoad(Math.max(2, options.durationSeconds));
  const rounds: { ours: number[]; newPage: number[]; oursLat: number[]; newPageLat: number[]; light: number[] } = {
    ours: [],
    newPage: [],
    oursLat: [],
    newPageLat: [],
    light: [],
  };
  for (let round = 0; round < options.rounds; round++) {
    const [measured, light] = await Promise.all([sustained(ours, options.durationSeconds, concurrency), lightLoad(options.durationSeconds)]);
    rounds.ours.push(measured.perSecond);
    rounds.oursLat.push(...measured.latencies);
    rounds.light.push(...light);
    const baseline = await sustained(newPage, options.durationSeconds, concurrency);
    rounds.newPage.push(baseline.perSecond);
    rounds.newPageLat.push(...baseline.latencies);
    process.stdout.write(
      `# round ${round + 1}: ours ${measured.perSecond.toFixed(1)}/s p50 ${median(measured.latencies).toFixed(1)} ms; new page ${baseline.perSecond.toFixed(1)}/s p50 ${median(baseline.latencies).toFixed(1)} ms\n`,
    );
  }
  const launches: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await produceReport(deps(launchPerPdf), { caller: CALLER, format: 'PDF', parameters: PARAMETERS, deadline: t + 60_000 });
    launches.push(performance.now() - t);
  }
  const oursP50 = median(rounds.oursLat);
  process.stdout.write(`# ours p95 ${percentile(rounds.oursLat, 95).toFixed(1)} ms; launch per PDF ${launches.map((l) => l.toFixed(0)).join(', ')} ms\n`);
  printBenchLine({ metric: 'pdf-reports-per-second', ours: median(rounds.ours), baseline: median(rounds.newPage), unit: 'reports/s' });
  printBenchLine({ metric: 'pdf-report-p50', ours: oursP50, baseline: median(rounds.newPageLat), unit: 'ms', better: 'lower' });
  printBenchLine({ metric: 'pdf-report-p50-vs-launch', ours: oursP50, baseline: median(launches), unit: 'ms', better: 'lower' });
  printBenchLine({ metric: 'pdf-light-query-p99', ours: percentile(rounds.light, 99), baseline: percentile(idle, 99), unit: 'ms', better: 'lower' });
} finally {
  await ours.close();
  await browser.close();
  await server.close();
  await pool.close();
  await databases.close();
}
