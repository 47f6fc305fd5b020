/**
 * bench/hostile-queries: what a hostile document costs now, and whether `health` notices a flood.
 *
 * 1. Time per hostile request. Ours: the round trip of the request to our server (in its own
 *    process, production configuration, signed in), median of `--rounds` × 5 sends; every one
 *    is checked to be refused with QUERY_LIMIT_EXCEEDED. Baseline, on the same documents in the
 *    same run: what the server did before the limits before any resolver ran — graphql-js parse
 *    (no token limit) and validate, then the old `@cost` walk, a verbatim copy of which is kept
 *    in bench/lib/exponential-cost.ts — in a worker thread stopped after `--baseline-cap-ms`
 *    (default 2000). A capped baseline is printed as the cap: the real figure is larger (the
 *    fragment chain 40 deep never finished). The baseline leaves out execution, so it is a
 *    lower bound too: 20 000 aliases of `me` then made 20 000 auth-database queries (11–12 s).
 * 2. `health` p99 (`{ health { status } }` at `--rate` per second from a separate process, for
 *    `--duration` seconds) idle, and while two clients send the 20 000-alias request back to
 *    back, and while two clients send the largest `me` request the limits let through (15
 *    aliases). The BENCH line compares the flood with idle: a ratio near 1 means the flood does
 *    not slow `health`.
 *
 *   npm run bench -- hostile-queries [--duration=5] [--rounds=3] [--rate=100] [--baseline-cap-ms=2000]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startServerProcess, type ServerProcess } from './lib/child.ts';
import type { LoadJob } from './lib/light-load.ts';
import { benchOptions } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { median, percentile } from './lib/stats.ts';

const options = benchOptions();
const { values } = parseArgs({ args: process.argv.slice(2), strict: false, options: { rate: { type: 'string' }, 'baseline-cap-ms': { type: 'string' } } });
const rate = Number(values.rate ?? 100);
const capMs = Number(values['baseline-cap-ms'] ?? 2000);
if (!(rate > 0 && capMs > 0)) throw new TypeError('--rate and --baseline-cap-ms must be positive numbers');
const here = import.meta.dirname;

/** A chain of `length` fragments, each spreading the next twice (2^(length-1) uses of the last). */
const fanOut = (length: number) =>
  `query { ...F0 } ${Array.from({ length }, (_, i) => `fragment F${i} on Query { ${i === length - 1 ? 'me { id }' : `...F${i + 1} ...F${i + 1}`} }`).join(' ')}`;
const repeatedTree = (depth: number): string => (depth === 0 ? 'name' : `ofType { ${repeatedTree(depth - 1)} } ofType { ${repeatedTree(depth - 1)} }`);
const meAliases = (n: number, fields = 'id') => `{ ${Array.from({ length: n }, (_, i) => `m${i}: me { ${fields} }`).join(' ')} }`;

const SHAPES = [
  { metric: 'hostile-fanout-16', query: fanOut(16) },
  { metric: 'hostile-fanout-20', query: fanOut(20) },
  { metric: 'hostile-fanout-24', query: fanOut(24) },
  { metric: 'hostile-fanout-40', query: fanOut(40) },
  { metric: 'hostile-repeated-tree', query: `{ __schema { queryType { ${repeatedTree(7)} } } }` },
  { metric: 'hostile-duplicate-fields', query: `query cop { ${'__typename '.repeat(500)}}` },
  { metric: 'hostile-aliases-20000', query: meAliases(20_000) },
] as const;

const LARGEST_ALLOWED = meAliases(15, 'id email username role disabled totpEnabled createdAt');

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** POSTs a GraphQL body; resolves with status, parsed body and round-trip milliseconds. */
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      `${url}/graphql`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')), ms: performance.now() - started }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const gql = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });

/** Signs up and signs in a user through the API; returns its Authorization header. */
async function signedIn(url: string): Promise<Record<string, string>> {
  const account = { email: 'bench@example.test', username: 'bench', password: 'bench password that is long' };
  await post(
    url,
    gql('mutation ($e: String!, $u: String!, $p: String!) { signUp(email: $e, username: $u, password: $p) { id } }', {
      e: account.email,
      u: account.username,
      p: account.password,
    }),
  );
  const res = await post(
    url,
    gql('mutation ($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "bench") { tokens { accessToken } } }', {
      e: account.email,
      p: account.password,
    }),
  );
  const token = (res.json as { data?: { signIn: { tokens: { accessToken: string } } } }).data?.signIn.tokens.accessToken;
  if (!token) throw new Error(`sign-in failed: ${JSON.stringify(res.json)}`);
  return { authorization: `Bearer ${token}` };
}

/** The old pipeline's time on `source`, per run, in a worker stopped at the cap; `capped` when it was. */
function baseline(source: string, runs: number): Promise<{ times: number[]; capped: boolean }> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    // An eval'd worker that registers tsx's CommonJS hook itself, then requires the TypeScript
    // file: a worker started on a .ts file does not get tsx from this process's `--import tsx`.
    const entry = path.join(here, 'lib/old-pipeline.ts');
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData: { source, runs } });
    let timer = setTimeout(() => stop(true), capMs);
    const stop = (capped: boolean) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve({ times, capped });
    };
    worker.on('message', (ms: number) => {
      times.push(ms);
      clearTimeout(timer);
      if (times.length === runs) stop(false);
      else timer = setTimeout(() => stop(true), capMs);
    });
    worker.on('error', reject);
  });
}

/** `health` latencies from the open-loop generator in its own process. */
function healthLatencies(url: string, seconds: number): Promise<number[]> {
  const job: LoadJob = { url, rate, seconds, body: gql('{ health { status } }') };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'lib/light-load.ts'), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`load generator exited with ${code}`))));
  });
}

/** Keeps `clients` loops sending `body` until stopped; returns how many were answered. */
function flood(url: string, body: string, headers: Record<string, string>, clients: number) {
  let running = true;
  let sent = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      await post(url, body, headers);
      sent++;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return sent;
    },
  };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-bench-hostile-'));
let server: ServerProcess | undefined;
try {
  server = await startServerProcess(path.join(here, 'lib/servers/strongroom.ts'), {
    cpuProfileDir: options.cpuProfileDir,
    env: { DATA_DIR: dataDir, SIGNUP_ENABLED: 'true', LOG_LEVEL: 'warn' },
  });
  const { url } = server;
  const auth = await signedIn(url);
  const sends = Math.max(5, options.rounds * 5);
  console.log(`# ours: ${url} (${String(server.info.databases)}); ${sends} sends per document; baseline capped at ${capMs} ms per run`);

  for (const { metric, query } of SHAPES) {
    const body = gql(query);
    const ours: number[] = [];
    for (let i = 0; i < sends + 2; i++) {
      const r = await post(url, body, auth);
      const code = (r.json as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
      if (r.status !== 400 || code !== 'QUERY_LIMIT_EXCEEDED')
        throw new Error(`${metric}: expected a refusal, got ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
      if (i >= 2) ours.push(r.ms); // the first two warm the path
    }
    const old = await baseline(query, Math.max(1, options.rounds));
    const oldMs = old.capped && old.times.length === 0 ? capMs : median(old.times);
    console.log(
      `# ${metric}: ${Math.round(body.length / 1024)} KB; ours p50 ${median(ours).toFixed(2)} ms (max ${Math.max(...ours).toFixed(2)}); before ${old.capped ? `> ${capMs} ms (stopped at the cap)` : `${oldMs.toFixed(1)} ms`}`,
    );
    printBenchLine({ metric, ours: median(ours), baseline: oldMs, unit: 'ms', better: 'lower' });
  }

  // health p99: idle, then under two floods.
  await healthLatencies(url, 1); // warm-up
  const p99 = (xs: number[]) => percentile(xs, 99);
  const idle = await healthLatencies(url, options.durationSeconds);
  console.log(`# health idle: n=${idle.length} p50=${percentile(idle, 50).toFixed(2)} ms p99=${p99(idle).toFixed(2)} ms`);

  const refused = flood(url, gql(SHAPES.at(-1)!.query), auth, 2);
  const underRefused = await healthLatencies(url, options.durationSeconds);
  const refusedSent = await refused.stop();
  console.log(
    `# health during 2 clients sending 20 000 aliases of me (${refusedSent} sent, all refused): n=${underRefused.length} p50=${percentile(underRefused, 50).toFixed(2)} ms p99=${p99(underRefused).toFixed(2)} ms`,
  );

  const allowed = flood(url, gql(LARGEST_ALLOWED), auth, 2);
  const underAllowed = await healthLatencies(url, options.durationSeconds);
  const allowedSent = await allowed.stop();
  console.log(
    `# health during 2 clients sending the largest allowed me request, 15 aliases (${allowedSent} answered): n=${underAllowed.length} p50=${percentile(underAllowed, 50).toFixed(2)} ms p99=${p99(underAllowed).toFixed(2)} ms`,
  );

  printBenchLine({ metric: 'hostile-health-p99-alias-flood', ours: p99(underRefused), baseline: p99(idle), unit: 'ms', better: 'lower' });
  printBenchLine({ metric: 'hostile-health-p99-allowed-flood', ours: p99(underAllowed), baseline: p99(idle), unit: 'ms', better: 'lower' });
} finally {
  agent.destroy();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
}
