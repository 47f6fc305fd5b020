/**
 * Sign-in cost and its effect on everyone else.
 *
 *   node --import tsx bench/sign-in.ts
 *
 * Prints
 *   BENCH sign-in-p50 ours=<ms> baseline=<ms>   — a whole sign-in over HTTP (remembered IP and
 *       device, so password + tokens) against one bare PBKDF2 run at the same iterations:
 *       the ratio (hash ÷ sign-in, below 1) shows how much of a sign-in is the hash.
 *   BENCH light-p99-during-sign-ins ours=<ms> baseline=<ms>   — p99 of a light authenticated
 *       query (`{ me { id email } }`) while 20 sign-ins run concurrently, against the same
 *       query on an idle server. Goal: ratio ≥ 0.5, that is at most twice the idle p99
 *       (hashing runs on libuv's pool, not the loop).
 * Both are latencies, so the ratio is baseline ÷ ours (bench/README.md).
 *
 * It measures fixed numbers of samples, so the runner's --duration, --rounds, --warmup and
 * --connections do not apply (a note says so when they are given). Runs on throwaway
 * databases (bench/lib/databases.ts).
 */
import { pbkdf2 } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { createServer } from '../src/server.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { systemCaller } from '../src/services/auth/caller.ts';
import { continuously } from './lib/background.ts';
import { openBenchDatabases } from './lib/databases.ts';
import { benchOptions, noteUnusedOptions } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { percentile } from './lib/stats.ts';

const CONCURRENT_SIGN_INS = 20;
const SIGN_IN_SAMPLES = 20;
const LIGHT_SAMPLES = 300;

const fmt = (n: number) => n.toFixed(2);

async function main() {
  benchOptions(); // refuses malformed shared options, as every benchmark does
  noteUnusedOptions(
    'sign-in',
    ['duration', 'rounds', 'warmup', 'connections', 'cpu-prof-dir'],
    `it takes ${SIGN_IN_SAMPLES} sign-ins and ${LIGHT_SAMPLES} light queries per phase`,
  );
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-bench-'));
  const config = parseConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    RATE_LIMIT_SIGN_IN_PER_EMAIL_IP: '1000000',
    RATE_LIMIT_SIGN_IN_PER_IP: '1000000',
  });
  const databases = await openBenchDatabases(config);
  const logger = createLogger('silent');
  const pool = openWorkerPool(config, logger);
  const server = await createServer({ config, logger, databases, keyring: databases.keyring, pool });
  const url = `${await server.listen()}/graphql`;
  try {
    const post = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: the answers of several operations
      const body = (await res.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const user = { email: 'bench@example.test', password: 'a bench passphrase' };
    await server.services.auth.createUser(systemCaller('sign-in benchmark'), { ...user, username: 'bench', role: 'USER' }, '127.0.0.1');
    const SIGN_IN = 'mutation S($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "bench") { tokens { accessToken } challenge { id } } }';
    // First sign-in: verify with the code from the outbox, so the IP and device are remembered.
    const first = await post(SIGN_IN, { e: user.email, p: user.password });
    const outbox = path.join(dataDir, 'outbox');
    const mails = await Promise.all((await readdir(outbox)).map((f) => readFile(path.join(outbox, f), 'utf8')));
    const code = mails.map((m) => /Your code is: (\d+)/.exec(m)?.[1]).find(Boolean);
    const verified = await post('mutation V($id: ID!, $c: String!) { verifySignIn(challengeId: $id, code: $c) { accessToken } }', {
      id: first.signIn.challenge.id,
      c: code,
    });
    const token: string = verified.verifySignIn.accessToken;
    const signIn = async () => {
      const started = performance.now();
      const r = await post(SIGN_IN, { e: user.email, p: user.password });
      if (r.signIn.challenge) throw new Error('expected a remembered device');
      return performance.now() - started;
    };
    const light = async () => {
      const started = performance.now();
      await post('{ me { id email } }', {}, token);
      return performance.now() - started;
    };

    // Sign-in p50 against one bare PBKDF2 run.
    const hash = promisify(pbkdf2);
    const bare: number[] = [];
    for (let i = 0; i < SIGN_IN_SAMPLES; i++) {
      const started = performance.now();
      await hash('a bench passphrase', 'sixteen byte salt', config.passwordIterations, 64, 'sha512');
      bare.push(performance.now() - started);
    }
    await signIn();
    const signIns: number[] = [];
    for (let i = 0; i < SIGN_IN_SAMPLES; i++) signIns.push(await signIn());
    printBenchLine({ metric: 'sign-in-p50', ours: percentile(signIns, 50), baseline: percentile(bare, 50), unit: 'ms', better: 'lower' });

    // Light query idle, then under 20 concurrent sign-ins.
    for (let i = 0; i < 50; i++) await light();
    const idle: number[] = [];
    for (let i = 0; i < LIGHT_SAMPLES; i++) idle.push(await light());
    const load = continuously(CONCURRENT_SIGN_INS, signIn);
    await new Promise((r) => setTimeout(r, 200));
    const busy: number[] = [];
    for (let i = 0; i < LIGHT_SAMPLES; i++) busy.push(await light());
    const completed = await load.stop();
    process.stderr.write(
      `# ${completed} sign-ins completed during the loaded phase; idle p50 ${fmt(percentile(idle, 50))} ms, loaded p50 ${fmt(percentile(busy, 50))} ms\n`,
    );
    printBenchLine({ metric: 'light-p99-during-sign-ins', ours: percentile(busy, 99), baseline: percentile(idle, 99), unit: 'ms', better: 'lower' });
  } finally {
    await server.close();
    await pool.close();
    await databases.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
