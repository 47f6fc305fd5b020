/**
 * Licences: reading a page with its keys, and validateLicence under load.
 *
 * 1. `licences(first: 100)` with `key` (100 Fernet tokens opened per page) against the same page
 *    without keys, p50 of the server's own operation time (its log line's `durationMs`), one
 *    request at a time, in this process. Goal: ≤ 15 ms.
 * 2. `validateLicence` requests/s at 64 connections (the `--connections` option raises or lowers
 *    it) against the trivial query `{ health { status } }` on the same server process, in
 *    interleaved rounds of the same run. Every validation answer is sent only after its event is
 *    committed; concurrent ones share one statement (group commit). Goal: ≥ 0.5× the trivial
 *    query. The issue asks for PostgreSQL (DATABASE_URL set); on PGlite the figure is printed too.
 *
 * Metrics: licences-page-keys-p50 (ms, lower is better), validate-licence-rps (req/s).
 * Options: --duration=5 --rounds=3 --warmup=3 --connections=64 --cpu-prof-dir=DIR
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logger.ts';
import { systemCaller } from '../src/services/auth/caller.ts';
import { createServer } from '../src/server.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { startServerProcess } from './lib/child.ts';
import { openBenchDatabases } from './lib/databases.ts';
import { graphqlLoad, runLoad } from './lib/load.ts';
import { benchOptions } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { benchConfig } from './lib/server.ts';
import { median, percentile } from './lib/stats.ts';

const options = benchOptions();
const connections = process.argv.some((a) => a.startsWith('--connections')) ? options.connections : 64;
const say = (line: string) => process.stdout.write(`# ${line}\n`);
const PAGES = 200;

async function pageTimes(): Promise<{ withKeys: number; withoutKeys: number }> {
  // A data folder of its own: the outbox the sign-in code is read from is this run's alone.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-bench-licences-'));
  const config = benchConfig({ DB_POOL_MAX: '4', DATA_DIR: dataDir });
  const databases = await openBenchDatabases(config);
  const durations: { operation: string; ms: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.includes('"durationMs"')) continue;
        const entry = JSON.parse(line) as { operationName?: string; durationMs?: number };
        if (typeof entry.durationMs === 'number') durations.push({ operation: entry.operationName ?? '', ms: entry.durationMs });
      }
      done();
    },
  });
  const logger = createLogger('info', sink);
  const pool = openWorkerPool(config, logger);
  const server = await createServer({ config, logger, databases, keyring: databases.keyring, pool });
  try {
    const url = await server.listen();
    const { licences, auth } = server.services;
    await licences.createMany(Array.from({ length: 1000 }, (_, i) => ({ username: `page-${i}`, application: 'Bench App' })));
    say(`page: 1000 licences on ${databases.label}`);
    // An admin who passed the second step: the mailed code is read from the outbox.
    const password = 'bench admin password 1';
    await auth.createUser(systemCaller('bench'), { email: 'admin@bench.invalid', username: 'bench-admin', password, role: 'ADMIN' }, '127.0.0.1');
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
    };
    const signedIn = await post({
      query: 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "bench") { challenge { id } } }',
      variables: { e: 'admin@bench.invalid', p: password },
    });
    const challenge = (signedIn.data?.signIn as { challenge: { id: string } | null } | undefined)?.challenge;
    if (!challenge) throw new Error(`sign-in gave no challenge: ${JSON.stringify(signedIn.errors)}`);
    const outbox = path.join(config.dataDir, 'outbox');
    let code: string | undefined;
    for (const file of await readdir(outbox)) code ??= /Your code is: (\d+)/.exec(await readFile(path.join(outbox, file), 'utf8'))?.[1];
    const verified = await post({
      query: 'mutation($c: ID!, $code: String!) { verifySignIn(challengeId: $c, code: $code, rememberDevice: false) { accessToken } }',
      variables: { c: challenge.id, code },
    });
    const token = (verified.data?.verifySignIn as { accessToken: string } | undefined)?.accessToken;
    if (!token) throw new Error(`verification failed: ${JSON.stringify(verified.errors)}`);
    const headers = { authorization: `Bearer ${token}` };

    const measure = async (name: string, fields: string) => {
      const body = { operationName: name, query: `query ${name} { licences(first: 100) { edges { node { ${fields} } } } }` };
      for (let i = 0; i < 20; i++) {
        const answer = await post(body, headers);
        if (answer.errors) throw new Error(`${name} failed: ${JSON.stringify(answer.errors)}`);
      }
      durations.length = 0;
      for (let i = 0; i < PAGES; i++) await post(body, headers);
      const samples = durations.filter((d) => d.operation === name).map((d) => d.ms);
      say(`${name}: p50 ${median(samples).toFixed(2)} ms, p95 ${percentile(samples, 95).toFixed(2)} ms over ${samples.length} pages of 100`);
      return median(samples);
    };
    const fields = 'id username application uniqueId active expiresAt createdAt updatedAt';
    const withoutKeys = await measure('PageWithoutKeys', fields);
    const withKeys = await measure('PageWithKeys', `${fields} key`);
    return { withKeys, withoutKeys };
  } finally {
    await server.close();
    await pool.close();
    await databases.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function validateThroughput(): Promise<{ validate: number; trivial: number }> {
  const child = await startServerProcess(path.join(import.meta.dirname, 'lib/servers/strongroom-licences.ts'), {
    cpuProfileDir: options.cpuProfileDir,
    env: { NODE_ENV: 'production' },
  });
  try {
    const { application, key } = child.info as { application: string; key: string };
    say(
      `validate: ${child.url} (pid ${child.pid}, ${String(child.info.databases)}), ${connections} connections, ${options.rounds} rounds × ${options.durationSeconds} s`,
    );
    const validate = {
      ...graphqlLoad(`${child.url}/graphql`, '', { connections, durationSeconds: options.durationSeconds }),
      body: JSON.stringify({
        query: 'mutation V($a: String!, $k: EncryptedString!) { validateLicence(application: $a, key: $k, source: "bench", nonce: "n") { valid signature } }',
        variables: { a: application, k: key },
      }),
    };
    const trivial = graphqlLoad(`${child.url}/graphql`, '{ health { status } }', { connections, durationSeconds: options.durationSeconds });
    const check = await fetch(validate.url, { method: 'POST', headers: validate.headers, body: validate.body });
    const answer = (await check.json()) as { data?: { validateLicence: { valid: boolean } } };
    if (answer.data?.validateLicence.valid !== true) throw new Error(`validateLicence answered ${JSON.stringify(answer)}`);
    await runLoad({ ...validate, durationSeconds: options.warmupSeconds });
    await runLoad({ ...trivial, durationSeconds: options.warmupSeconds });
    const rounds = { validate: [] as number[], trivial: [] as number[] };
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? (['validate', 'trivial'] as const) : (['trivial', 'validate'] as const);
      for (const name of order) {
        const result = await runLoad(name === 'validate' ? validate : trivial);
        rounds[name].push(result.requestsPerSecond);
        say(`round ${r + 1} ${name}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms`);
      }
    }
    return { validate: median(rounds.validate), trivial: median(rounds.trivial) };
  } finally {
    await child.stop();
  }
}

const page = await pageTimes();
printBenchLine({ metric: 'licences-page-keys-p50', ours: page.withKeys, baseline: page.withoutKeys, unit: 'ms', better: 'lower' });
const load = await validateThroughput();
printBenchLine({ metric: 'validate-licence-rps', ours: load.validate, baseline: load.trivial, unit: 'req/s' });
say(`validateLicence at ${(load.validate / load.trivial).toFixed(2)}× the trivial query (goal ≥ 0.5×)`);
