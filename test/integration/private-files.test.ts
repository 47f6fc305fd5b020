import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startProcess, type RunningProcess } from '../helpers/process.ts';
import { runScript } from '../helpers/scratch.ts';
import { gqlFrom } from '../helpers/users.ts';

interface Entry {
  readonly path: string;
  readonly type: 'dir' | 'file' | 'symlink';
  readonly mode: number;
}

/** Every entry under `root` (the root included), without following symlinks. */
async function entriesOf(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (relative: string) => {
    const info = await lstat(path.join(root, relative));
    const type = info.isSymbolicLink() ? 'symlink' : info.isDirectory() ? 'dir' : 'file';
    out.push({ path: relative, type, mode: info.mode & 0o7777 });
    if (type === 'dir') for (const name of await readdir(path.join(root, relative))) await visit(path.join(relative, name));
  };
  await visit('.');
  return out;
}

const notPrivate = (entries: Entry[]) =>
  entries.filter((e) => (e.type === 'dir' && e.mode !== 0o700) || (e.type === 'file' && e.mode !== 0o600)).map((e) => `${e.mode.toString(8)} ${e.path}`);

// Tests run as root, which reads everything: ask the kernel as `nobody` instead, when setpriv is here.
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const hasSetpriv = spawnSync('setpriv', [...NOBODY, 'true']).status === 0;
const asNobody = (...command: string[]) => spawnSync('setpriv', [...NOBODY, ...command], { stdio: 'ignore' }).status === 0;

describe('files under DATA_DIR', () => {
  const children: RunningProcess[] = [];
  let parent: string;
  let dataDir: string;
  after(async () => {
    for (const p of children) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  /** Starts the server on DATA_DIR, signs the admin in (which writes the code mail to the outbox) and stops it. */
  const runOnce = async () => {
    const p = startProcess({
      PORT: '0',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      ADMIN_EMAIL: 'admin@example.test',
      ADMIN_PASSWORD: 'a private files passphrase',
    });
    children.push(p);
    const ready = await p.waitFor('Strongroom is ready');
    const res = await gqlFrom<{ signIn: { challenge: { delivery: string } | null } }>(
      String(ready.url).replace(/\/graphql$/, ''),
      '127.0.0.1',
      'mutation { signIn(email: "admin@example.test", password: "a private files passphrase", deviceId: "private-files") { challenge { delivery } } }',
    );
    assert.equal(res.body.data?.signIn.challenge?.delivery, 'SENT');
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    return p;
  };

  /** A file other users could read if its folders let them: the write-ahead log, and the mailed code. */
  const secrets = async () => {
    const wal = path.join(dataDir, 'db', 'pglite', 'pg_wal');
    const segment = (await readdir(wal, { withFileTypes: true })).find((e) => e.isFile())!.name;
    const mail = (await readdir(path.join(dataDir, 'outbox'))).find((n) => n.endsWith('.eml'))!;
    return [path.join(wal, segment), path.join(dataDir, 'outbox', mail)];
  };

  const assertNobodyLocksOut = async (t: { diagnostic(message: string): void }) => {
    if (!hasSetpriv) {
      t.diagnostic('setpriv cannot switch to nobody here: the read check as another user is skipped');
      return;
    }
    // The check can fail: nobody reads a shared file beside DATA_DIR.
    const control = path.join(parent, 'shared.txt');
    await writeFile(control, 'shared');
    await chmod(control, 0o644);
    assert.ok(asNobody('cat', control), 'nobody reads a 0644 file in a 0755 folder');
    for (const file of await secrets()) {
      assert.equal(asNobody('cat', file), false, `nobody cannot read ${path.relative(dataDir, file)}`);
      assert.equal(asNobody('test', '-w', file), false, `nobody cannot write ${path.relative(dataDir, file)}`);
    }
  };

  test('on a fresh DATA_DIR, every folder the server creates is 0700 and every file 0600, and nobody else can read the mail or the write-ahead log', async (t) => {
    parent = await mkdtemp(path.join(os.tmpdir(), 'strongroom-private-'));
    await chmod(parent, 0o755); // others may reach DATA_DIR: only its own modes keep them out
    dataDir = path.join(parent, 'data');
    const p = await runOnce();
    const entries = await entriesOf(dataDir);
    assert.ok(entries.filter((e) => e.type === 'file').length > 500, 'the embedded database and the outbox were written');
    assert.ok(entries.some((e) => e.path.startsWith('outbox') && e.path.endsWith('.eml')));
    assert.deepEqual(notPrivate(entries), []);
    assert.ok(!p.lines.some((l) => String(l.msg).startsWith('made the files')), 'nothing needed repairing');
    await assertNobodyLocksOut(t);
  });

  test('a DATA_DIR made before, with 0666 files and 0755 folders, is repaired at start, the change is logged, and a symlink out of it is not followed', async (t) => {
    assert.ok(dataDir, 'runs on the folder the test above made');
    // Open everything up as PGlite and the outbox did before files were made private.
    let opened = 0;
    for (const e of await entriesOf(dataDir)) {
      await chmod(path.join(dataDir, e.path), e.type === 'dir' ? 0o755 : 0o666);
      opened++;
    }
    await mkdir(path.join(dataDir, 'outbox', 'archive'), { mode: 0o755 });
    await chmod(path.join(dataDir, 'outbox', 'archive'), 0o755);
    const outside = path.join(parent, 'outside.txt');
    await writeFile(outside, 'not ours');
    await chmod(outside, 0o644);
    await symlink(outside, path.join(dataDir, 'outbox', 'link-out'));

    const p = await runOnce();
    const repaired = p.lines.find((l) => l.msg === 'made the files and folders under DATA_DIR private to this user (they were readable by others)');
    assert.ok(repaired, 'the repair is logged');
    assert.equal(repaired.changed, opened + 1);
    assert.ok(Array.isArray(repaired.entries) && repaired.entries.includes('755→700 .'));
    assert.deepEqual(notPrivate(await entriesOf(dataDir)), []);
    assert.equal((await lstat(outside)).mode & 0o777, 0o644, 'the symlink was not followed');
    await assertNobodyLocksOut(t);
  });

  test('the database CLIs create a private DATA_DIR too, and repair one made before', async () => {
    const dir = path.join(parent ?? (parent = await mkdtemp(path.join(os.tmpdir(), 'strongroom-private-'))), 'cli-data');
    const first = await runScript('db-migrate.ts', [], { DATA_DIR: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(notPrivate(await entriesOf(dir)), []);

    for (const e of await entriesOf(dir)) await chmod(path.join(dir, e.path), e.type === 'dir' ? 0o755 : 0o666);
    const again = await runScript('db-migrate.ts', ['--check'], { DATA_DIR: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^made the files and folders under DATA_DIR private to this user/m);
    assert.deepEqual(notPrivate(await entriesOf(dir)), []);
  });
});
