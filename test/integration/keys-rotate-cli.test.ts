/**
 * `npm run keys -- rotate` on a scratch database, as an operator runs it: values sealed under
 * one data key, a new key promoted, the rotation killed with SIGKILL part-way and run again.
 * Afterwards every TOTP secret, pending secret and signing key opens to exactly what was
 * stored (none lost, none encrypted twice: a twice-encrypted value would open to a token),
 * every one under the new key. Then the blind-index rotation runs to the end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/encrypted-columns.ts';
import { ROOT } from '../helpers/process.ts';
import { createScratch, runScript, type Scratch } from '../helpers/scratch.ts';

interface Filled {
  oldKeyId: string;
  newKeyId: string;
  plaintexts: Record<string, Record<string, string>>;
}
type Opened = Record<string, { values: Record<string, string>; byKey: Record<string, number>; failed: string[] }>;

const USERS = 3000;

describe('npm run keys -- rotate', () => {
  let scratch: Scratch;
  let env: Record<string, string>;
  let dir: string;
  before(async () => {
    scratch = await createScratch();
    dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-rotate-'));
    env = { ...scratch.env, MASTER_KEY: randomBytes(32).toString('base64'), NODE_ENV: 'test', WORKER_THREADS: '2', KEYRING_REFRESH_SECONDS: '1' };
    const migrated = await runScript('db-migrate.ts', [], env);
    assert.equal(migrated.code, 0, migrated.stderr);
  });
  after(async () => {
    await scratch.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const fixture = (...args: string[]) => runScript('../test/fixtures/secrets.ts', args, env, 300_000);
  const keys = (...args: string[]) => runScript('keys.ts', args, env, 300_000);
  const open = async (): Promise<Opened> => {
    const opened = await fixture('open');
    assert.equal(opened.code, 0, opened.stderr);
    return JSON.parse(opened.stdout) as Opened;
  };

  /** Starts `keys rotate` and kills it with SIGKILL once its progress bar has passed `percent`. */
  const rotateKilledAt = (percent: number) =>
    new Promise<{ stderr: string; killedAt: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join('scripts', 'keys.ts'), 'rotate', '--batch', '50'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let killedAt = -1;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        const shares = [...stderr.matchAll(/^rotate +\[[#.]+\] +(\d+)%/gm)].map((m) => Number(m[1]));
        const last = shares[shares.length - 1];
        if (killedAt < 0 && last !== undefined && last >= percent && last < 100) {
          killedAt = last;
          child.kill('SIGKILL');
        }
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) =>
        signal === 'SIGKILL' ? resolve({ stderr, killedAt }) : reject(new Error(`rotate ended before it was killed: ${stderr}`)),
      );
    });

  test('a rotation killed part-way and run again leaves every value readable, under the new key, none lost or encrypted twice', async () => {
    const file = path.join(dir, 'filled.json');
    const filled = await fixture('fill', String(USERS), file);
    assert.equal(filled.code, 0, filled.stderr);
    const { oldKeyId, newKeyId, plaintexts } = JSON.parse(await readFile(file, 'utf8')) as Filled;

    const killed = await rotateKilledAt(20);
    assert.ok(killed.killedAt >= 20 && killed.killedAt < 100, killed.stderr);
    const midway = await open();
    const users = midway['auth.users.totp_secret']!;
    assert.ok((users.byKey[oldKeyId] ?? 0) > 0 && (users.byKey[newKeyId] ?? 0) > 0, `stopped part-way: ${JSON.stringify(users.byKey)}`);
    for (const [label, seen] of Object.entries(midway)) assert.deepEqual(seen.failed, [], `${label} opens throughout`);

    const rerun = await keys('rotate', '--batch', '50');
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /rotated \d+ value\(s\) to key /);
    assert.match(rerun.stderr, /rotate +\[#+\] 100%/);

    const opened = await open();
    for (const [label, expected] of Object.entries(plaintexts)) {
      const seen = opened[label]!;
      assert.deepEqual(seen.failed, [], `${label}: every value opens`);
      assert.deepEqual(Object.keys(seen.byKey), [newKeyId], `${label}: every value is under the new key`);
      for (const [id, plaintext] of Object.entries(expected)) assert.equal(seen.values[id], plaintext, `${label} ${id}`);
    }
    assert.equal(Object.keys(opened['auth.users.totp_secret']!.values).length, USERS);

    const again = await keys('rotate');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /rotated 0 value\(s\)/, 'a finished rotation has nothing left to do');
  });

  test('a value no key opens is left exactly as it was and named by its row id; the others are rotated and rotate exits 1', async () => {
    const promoted = await fixture('promote');
    assert.equal(promoted.code, 0, promoted.stderr);
    const newest = promoted.stdout.trim();
    const victim = await scratch.withClient(async (c) => {
      const row = (
        await c.query<{ id: string; totp_secret: string }>('select id, totp_secret from auth.users where totp_secret is not null order by id limit 1')
      ).rows[0]!;
      const tampered = `${row.totp_secret.slice(0, 50)}${row.totp_secret[50] === 'A' ? 'B' : 'A'}${row.totp_secret.slice(51)}`;
      await c.query('update auth.users set totp_secret = $2 where id = $1', [row.id, tampered]);
      return { id: row.id, tampered };
    }, 'auth');
    const rotated = await keys('rotate');
    assert.equal(rotated.code, 1, rotated.stdout + rotated.stderr);
    assert.match(rotated.stdout, new RegExp(`1 value\\(s\\) no key opens, left as they were; ids: ${victim.id}`));
    assert.match(rotated.stderr, /1 value\(s\) are still under an old key/);
    assert.doesNotMatch(rotated.stdout + rotated.stderr, new RegExp(victim.tampered.slice(20, 60)), 'no token text in the output');
    const opened = await open();
    assert.deepEqual(opened['auth.users.totp_secret']!.failed, [victim.id]);
    assert.equal(opened['auth.users.totp_secret']!.byKey[newest], USERS - 1);
    const still = await scratch.withClient(
      async (c) => (await c.query<{ totp_secret: string }>('select totp_secret from auth.users where id = $1', [victim.id])).rows[0]!,
      'auth',
    );
    assert.equal(still.totp_secret, victim.tampered);
  });

  test('the blind-index rotation makes a new key primary, re-indexes and retires the old one', async () => {
    const rotated = await keys('rotate', '--blind-index', '--batch', '100');
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /new blind-index key \S+ \(version \d+\) is primary/);
    assert.match(rotated.stdout, /retired the old blind-index key \S+/);
    if (ENCRYPTED_COLUMNS.some((e) => e.table === 'licensing.licences')) {
      assert.match(rotated.stdout, new RegExp(`licensing\\.licences\\.licence_key: ${Math.ceil(USERS / 3)} re-indexed`));
    }
  });

  test('--batch must be a whole number in range', async () => {
    const bad = await keys('rotate', '--batch', '0');
    assert.equal(bad.code, 64, bad.stderr);
  });
});
