import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ensurePrivateDir, makeDataDirPrivate, PrivateTreeTooLargeError, repairPrivateTree, writePrivateFile } from '../../../src/fs/private.ts';

const modeOf = async (p: string) => (await lstat(p)).mode & 0o7777;

describe('private files', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const tmp = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'strongroom-private-'));
    dirs.push(d);
    return d;
  };
  // The widest umask: whatever comes out private was made private by the helper, not by the umask.
  const withOpenUmask = async <T>(fn: () => Promise<T>): Promise<T> => {
    const previous = process.umask(0);
    try {
      return await fn();
    } finally {
      process.umask(previous);
    }
  };

  test('ensurePrivateDir creates the folder and its missing parents 0700, and narrows one that exists', async () => {
    const root = await tmp();
    const deep = path.join(root, 'a', 'b', 'c');
    await withOpenUmask(() => ensurePrivateDir(deep));
    for (const p of ['a', 'a/b', 'a/b/c']) assert.equal(await modeOf(path.join(root, p)), 0o700, p);
    const old = path.join(root, 'old');
    await mkdir(old);
    await chmod(old, 0o755);
    await ensurePrivateDir(old);
    assert.equal(await modeOf(old), 0o700);
  });

  test('writePrivateFile creates a 0600 file whatever the umask, and replaces an existing file without writing through a symlink', async () => {
    const root = await tmp();
    const file = path.join(root, 'secret');
    await withOpenUmask(() => writePrivateFile(file, 'one'));
    assert.equal(await modeOf(file), 0o600);
    assert.equal(await readFile(file, 'utf8'), 'one');

    await chmod(file, 0o644);
    await writePrivateFile(file, 'two');
    assert.equal(await modeOf(file), 0o600);
    assert.equal(await readFile(file, 'utf8'), 'two');

    const outside = path.join(await tmp(), 'outside');
    await writeFile(outside, 'untouched');
    const link = path.join(root, 'link');
    await symlink(outside, link);
    await writePrivateFile(link, 'three');
    assert.equal(await readFile(outside, 'utf8'), 'untouched');
    assert.ok((await lstat(link)).isFile(), 'the symlink was replaced by a file');
    assert.deepEqual((await readdir(root)).sort(), ['link', 'secret'], 'no temporary file is left');
  });

  test('writePrivateFile with exclusive refuses an existing file (EEXIST) and leaves it as it was', async () => {
    const root = await tmp();
    const file = path.join(root, 'master.key');
    await writePrivateFile(file, 'first', { exclusive: true });
    assert.equal(await modeOf(file), 0o600);
    await assert.rejects(writePrivateFile(file, 'second', { exclusive: true }), (err: NodeJS.ErrnoException) => err.code === 'EEXIST');
    assert.equal(await readFile(file, 'utf8'), 'first');
  });

  test('repairPrivateTree removes the group and other permissions of every entry, keeps the owner’s, and says what it changed', async () => {
    const root = await tmp();
    await chmod(root, 0o755);
    await mkdir(path.join(root, 'db', 'base'), { recursive: true });
    await chmod(path.join(root, 'db'), 0o777);
    await chmod(path.join(root, 'db', 'base'), 0o755);
    await writeFile(path.join(root, 'db', 'base', '1249'), 'catalog', { mode: 0o666 });
    await chmod(path.join(root, 'db', 'base', '1249'), 0o666);
    await writeFile(path.join(root, 'read-only'), 'x');
    await chmod(path.join(root, 'read-only'), 0o444);
    await writeFile(path.join(root, 'private'), 'x', { mode: 0o600 });

    const report = await repairPrivateTree(root);
    assert.equal(report.entries, 6);
    assert.deepEqual(
      [...report.changed].sort((a, b) => a.path.localeCompare(b.path)),
      [
        { path: '.', from: 0o755, to: 0o700 },
        { path: 'db', from: 0o777, to: 0o700 },
        { path: path.join('db', 'base'), from: 0o755, to: 0o700 },
        { path: path.join('db', 'base', '1249'), from: 0o666, to: 0o600 },
        { path: 'read-only', from: 0o444, to: 0o400 },
      ],
    );
    assert.equal(await modeOf(path.join(root, 'db', 'base', '1249')), 0o600);
    assert.equal(await modeOf(path.join(root, 'read-only')), 0o400);
    assert.equal(await modeOf(path.join(root, 'private')), 0o600);
    assert.deepEqual((await repairPrivateTree(root)).changed, [], 'a second run finds nothing to change');
  });

  test('repairPrivateTree neither follows nor changes symlinks, so nothing outside the tree is touched', async () => {
    const root = await tmp();
    const outside = await tmp();
    await chmod(outside, 0o755);
    await writeFile(path.join(outside, 'shared'), 'x');
    await chmod(path.join(outside, 'shared'), 0o644);
    await symlink(path.join(outside, 'shared'), path.join(root, 'to-file'));
    await symlink(outside, path.join(root, 'to-folder'));
    await symlink(root, path.join(root, 'loop'));

    const report = await repairPrivateTree(root);
    assert.equal(await modeOf(outside), 0o755);
    assert.equal(await modeOf(path.join(outside, 'shared')), 0o644);
    assert.deepEqual(report.skipped.map((s) => `${s.reason} ${s.path}`).sort(), ['symlink loop', 'symlink to-file', 'symlink to-folder']);
    assert.equal(report.entries, 4);
  });

  test('repairPrivateTree refuses a tree larger than its bound and changes nothing in it', async () => {
    const root = await tmp();
    for (let i = 0; i < 10; i++) await writeFile(path.join(root, `f${i}`), 'x', { mode: 0o644 });
    await assert.rejects(repairPrivateTree(root, { maxEntries: 5 }), PrivateTreeTooLargeError);
    for (let i = 0; i < 10; i++) assert.equal(await modeOf(path.join(root, `f${i}`)), 0o644);
    assert.equal((await repairPrivateTree(root, { maxEntries: 11 })).changed.length, 10);
  });

  test('repairPrivateTree visits a wide and deep tree once per entry', async () => {
    const root = await tmp();
    let expected = 1;
    let dir = root;
    for (let depth = 0; depth < 40; depth++) {
      dir = path.join(dir, `d${depth}`);
      await mkdir(dir);
      expected++;
      for (let i = 0; i < 25; i++) await writeFile(path.join(dir, `f${i}`), '', { mode: 0o640 });
      expected += 25;
    }
    const report = await repairPrivateTree(root);
    assert.equal(report.entries, expected);
    assert.equal(report.changed.filter((c) => c.to === 0o600).length, 40 * 25);
  });

  test('a missing folder is nothing to repair', async () => {
    const root = await tmp();
    assert.deepEqual(await repairPrivateTree(path.join(root, 'absent')), { entries: 0, changed: [], skipped: [] });
  });

  test('an entry that belongs to another user is left to them and reported', {
    skip: process.getuid?.() !== 0 && 'needs root to give a file away',
  }, async () => {
    const root = await tmp();
    const theirs = path.join(root, 'theirs');
    await writeFile(theirs, 'x');
    await chmod(theirs, 0o644);
    await chown(theirs, 65534, 65534);
    const report = await repairPrivateTree(root);
    assert.equal(await modeOf(theirs), 0o644);
    assert.deepEqual(report.skipped, [{ path: 'theirs', reason: 'not-owner' }]);
  });

  test('makeDataDirPrivate logs one warning naming what it changed, and nothing when all is private', async () => {
    const root = await tmp();
    await writeFile(path.join(root, 'old.eml'), 'x');
    await chmod(path.join(root, 'old.eml'), 0o644);
    const warnings: [Record<string, unknown>, string][] = [];
    const log = { warn: (fields: Record<string, unknown>, message: string) => warnings.push([fields, message]) };
    await makeDataDirPrivate(root, log);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]![0].changed, 1);
    assert.deepEqual(warnings[0]![0].entries, ['644→600 old.eml']);
    await makeDataDirPrivate(root, log);
    assert.equal(warnings.length, 1);
    assert.equal((await stat(root)).mode & 0o077, 0);
  });
});
