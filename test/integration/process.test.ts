import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startProcess } from '../helpers/process.ts';

const health = async (url: string) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ health { status } }"}' });
  return ((await res.json()) as { data: { health: { status: string } } }).data.health.status;
};

describe('the server process', () => {
  const dirs: string[] = [];
  const children: ReturnType<typeof startProcess>[] = [];
  const start = (env: Record<string, string>) => {
    const p = startProcess({ PORT: '0', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env });
    children.push(p);
    return p;
  };
  after(async () => {
    for (const p of children) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const dataDir = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'strongroom-proc-'));
    dirs.push(d);
    return d;
  };

  test('starts on the embedded database with no server configured, keeps its data across restarts, and exits 0 on SIGTERM', async () => {
    const dir = await dataDir();
    const first = start({ DATA_DIR: dir });
    const ready = await first.waitFor('Strongroom is ready');
    assert.equal(await health(String(ready.url)), 'OK');
    const applied = first.lines.filter((l) => l.msg === 'migrations applied');
    assert.equal(applied.length, 2, 'a new data folder is migrated');
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.ok(first.lines.some((l) => l.msg === 'stopped'));

    const second = start({ DATA_DIR: dir });
    const again = await second.waitFor('Strongroom is ready');
    assert.equal(second.lines.filter((l) => l.msg === 'migrations applied').length, 0, 'the migrated data survived the restart');
    assert.equal(second.lines.filter((l) => l.msg === 'database up to date').length, 2);
    assert.equal(await health(String(again.url)), 'OK');
    second.child.kill('SIGINT');
    assert.equal(await second.exited, 0);
  });

  test('a second process on the same data folder is refused with a clear message', async () => {
    const dir = await dataDir();
    const first = start({ DATA_DIR: dir });
    await first.waitFor('Strongroom is ready');
    const second = start({ DATA_DIR: dir });
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /in use by process \d+/);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
  });

  test('a database URL that does not connect names the database and host, without a stack trace, and exits non-zero', async () => {
    const p = start({ DATABASE_URL: 'postgres://nobody:s3cret@127.0.0.1:1/nowhere' });
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /Cannot connect to the data database at 127\.0\.0\.1:1\/nowhere: ECONNREFUSED/);
    assert.doesNotMatch(p.stderr(), /s3cret|\n\s+at /);
  });

  test('invalid configuration lists every bad variable and exits 78', async () => {
    const p = start({ PORT: 'x', LOG_LEVEL: 'chatty' });
    assert.equal(await p.exited, 78);
    assert.match(p.stderr(), /PORT must be a whole number/);
    assert.match(p.stderr(), /LOG_LEVEL must be one of/);
  });
});
