/**
 * Sign-in cost and its effect on everyone else.
 *
 *   node --import tsx bench/sign-in.ts
 *
 * Prints
 *   BENCH sign-in-p50 ours=<ms> baseline=<ms>   — a whole sign-in over HTTP (remembered IP and
 *       device, so password + tokens) against one bare PBKDF2 run at the same iterations:
 *       the ratio shows how much of a sign-in is the hash.
 *   BENCH light-p99-during-sign-ins ours=<ms> baseline=<ms>   — p99 of a light authenticated
 *       query (`{ me { id email } }`) while 20 sign-ins run concurrently, against the same
 *       query on an idle server. Goal: ratio ≤ 2 (hashing runs on libuv's pool, not the loop).
 *
 * Uses an in-memory PGlite, or fresh databases on DATABASE_URL's server (dropped at the end).
 */
import { pbkdf2 } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { parseConfig } from '../src/config.ts';
import { openDatabases } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import { createServer } from '../src/server.ts';
import { openWorkerPool } from '../src/workers/index.ts';
import { systemCaller } from '../src/services/auth/caller.ts';
import { percentile } from './lib/stats.ts';

const CONCURRENT_SIGN_INS = 20;
const SIGN_IN_SAMPLES = 20;
const LIGHT_SAMPLES = 300;

const fmt = (n: number) => n.toFixed(2);
const line = (metric: string, ours: number, baseline: number) =>
  process.stdout.write(`BENCH ${metric} ours=${fmt(ours)}ms baseline=${fmt(baseline)}ms ratio=${(ours / baseline).toFixed(2)}\n`);

async function freshPostgres(serverUrl: string) {
  const name = `strongroom_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

async function main() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-bench-'));
  const serverUrl = process.env.DATABASE_URL;
  const fresh = serverUrl ? await freshPostgres(serverUrl) : undefined;
  const config = parseConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ...(fresh ? { DATABASE_URL: fresh.url } : {}),
    RATE_LIMIT_SIGN_IN_PER_EMAIL_IP: '1000000',
    RATE_LIMIT_SIGN_IN_PER_IP: '1000000',
  });
  const databases = await openDatabases({ databaseUrl: config.databaseUrl, authDatabaseUrl: undefined, embeddedDir: undefined, poolMax: config.dbPoolMax });
  await migrateDatabase(databases.data);
  await migrateDatabase(databases.auth);
  const logger = createLogger('silent');
  const pool = openWorkerPool(config, logger);
  const server = await createServer({ config, logger, databases, pool });
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
    line('sign-in-p50', percentile(signIns, 50), percentile(bare, 50));

    // Light query idle, then under 20 concurrent sign-ins.
    for (let i = 0; i < 50; i++) await light();
    const idle: number[] = [];
    for (let i = 0; i < LIGHT_SAMPLES; i++) idle.push(await light());
    let running = true;
    let completed = 0;
    const load = Array.from({ length: CONCURRENT_SIGN_INS }, async () => {
      while (running) {
        await signIn();
        completed++;
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    const busy: number[] = [];
    for (let i = 0; i < LIGHT_SAMPLES; i++) busy.push(await light());
    running = false;
    await Promise.all(load);
    process.stderr.write(
      `# ${completed} sign-ins completed during the loaded phase; idle p50 ${fmt(percentile(idle, 50))} ms, loaded p50 ${fmt(percentile(busy, 50))} ms\n`,
    );
    line('light-p99-during-sign-ins', percentile(busy, 99), percentile(idle, 99));
  } finally {
    await server.close();
    await pool.close();
    await databases.close();
    await fresh?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
