import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { embeddedUrl, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { startProcess } from '../helpers/process.ts';
import { createScratch } from '../helpers/scratch.ts';
import { startMailServer } from '../helpers/smtp.ts';

const gql = async (url: string, query: string, variables: Record<string, unknown>) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  // biome-ignore lint/suspicious/noExplicitAny: the answers of several operations
  return (await res.json()) as { data?: Record<string, any>; errors?: { extensions: { code: string } }[] };
};

/** A cold start (tsx, PGlite's first open) on a busy two-core machine can take tens of seconds. */
const STARTUP_MS = 120_000;

const SIGN_IN = 'mutation S($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "cli") { challenge { id reason delivery } } }';

describe('the first admin', () => {
  const dirs: string[] = [];
  const children: ReturnType<typeof startProcess>[] = [];
  after(async () => {
    for (const p of children) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  test('in development with no ADMIN_PASSWORD, an admin is created with a random password printed once (never logged); sign-in mails the code to the outbox', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-admin-'));
    dirs.push(dir);
    const first = startProcess({ PORT: '0', NODE_ENV: 'development', LOG_LEVEL: 'info', DATA_DIR: dir });
    children.push(first);
    const ready = await first.waitFor('Strongroom is ready', STARTUP_MS);
    const printed = /Created the admin (\S+) with the password (\S+)/.exec(first.stderr());
    assert.ok(printed, first.stderr());
    const [, email, password] = printed;
    assert.equal(email, 'admin@strongroom.local');
    assert.ok(!JSON.stringify(first.lines).includes(password!), 'the password is not in the log');
    const outboxLine = first.lines.find((l) => typeof l.outbox === 'string');
    assert.equal(outboxLine?.outbox, path.join(dir, 'outbox'));

    const signed = await gql(String(ready.url), SIGN_IN, { e: email, p: password });
    assert.equal(signed.data?.signIn.challenge.delivery, 'SENT');
    const files = await readdir(path.join(dir, 'outbox'));
    const mails = await Promise.all(files.map((f) => readFile(path.join(dir, 'outbox', f), 'utf8')));
    assert.ok(mails.some((m) => /Your code is: \d{6}/.test(m)));

    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    const second = startProcess({ PORT: '0', NODE_ENV: 'development', LOG_LEVEL: 'info', DATA_DIR: dir });
    children.push(second);
    await second.waitFor('Strongroom is ready', STARTUP_MS);
    assert.doesNotMatch(second.stderr(), /Created the admin/, 'printed only once');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  test('ADMIN_EMAIL and ADMIN_PASSWORD create that admin', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-admin-'));
    dirs.push(dir);
    // Production needs a database server and a mail server: a scratch database on the run's
    // PostgreSQL, or else a PGlite served on a socket by this process, and a real SMTP server.
    const scratch = await createScratch();
    const embedded = scratch.kind === 'pglite' ? await startEmbeddedPostgres(path.join(dir, 'db')) : undefined;
    const mail = await startMailServer();
    try {
      const p = startProcess({
        PORT: '0',
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        DATA_DIR: dir,
        ...(embedded ? { DATABASE_URL: embeddedUrl(embedded) } : scratch.env),
        SMTP_URL: mail.url,
        METRICS_TOKEN: 'admin-bootstrap-metrics-token',
        MASTER_KEY: randomBytes(32).toString('base64'),
        ADMIN_EMAIL: 'boss@example.test',
        ADMIN_PASSWORD: 'a good long passphrase',
      });
      children.push(p);
      const ready = await p.waitFor('Strongroom is ready', STARTUP_MS);
      assert.doesNotMatch(p.stderr(), /with the password/);
      const signed = await gql(String(ready.url), SIGN_IN, { e: 'boss@example.test', p: 'a good long passphrase' });
      assert.equal(signed.data?.signIn.challenge.reason, 'NEW_DEVICE');
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
    } finally {
      await mail.close();
      await embedded?.close();
      await scratch.drop();
    }
  });
});
