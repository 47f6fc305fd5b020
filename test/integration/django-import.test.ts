/**
 * Importing the Django app's licences: tokens made by Python's cryptography, in every form the
 * old column can hold (the token's bytes in a bytea, as django-fernet-fields stores them; base64
 * of those bytes, as Django's dumps carry them; the token as text), are re-sealed under the
 * keyring's primary key; a row that does not decrypt is reported and the others imported; a
 * rerun writes nothing twice. The service runs on both databases; the command line end to end
 * on PostgreSQL, with the old table in a database of its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { parseConfig } from '../../src/config.ts';
import { openKeyring } from '../../src/crypto/keyring.ts';
import { Secret } from '../../src/crypto/secret.ts';
import { openDatabases } from '../../src/db/client.ts';
import { createScratchDatabase, type ScratchDatabase } from '../../src/db/scratch.ts';
import { systemCaller } from '../../src/services/auth/caller.ts';
import { createLicenceService } from '../../src/services/licences.ts';
import { importDjangoLicences, tokenOf } from '../../src/services/licensing/django-import.ts';
import { unique } from '../helpers/builders.ts';
import { useTestDatabases } from '../helpers/isolation.ts';
import { createScratch, runScript, scratchName, serverUrl, type Scratch } from '../helpers/scratch.ts';
import { testEnv } from '../helpers/server.ts';

const hasPython = spawnSync('/usr/bin/python3', ['-c', 'import cryptography'], { encoding: 'utf8' }).status === 0;

interface OldRows {
  key: string;
  otherKey: string;
  rows: { username: string; application: string; unique_id: string; plain: string; token: string; wrong: boolean }[];
}

/** A Django-like set made by Python: four keys under `key`, one under another key. */
function pythonRows(prefix: string): OldRows {
  const script = `
import json, sys
from cryptography.fernet import Fernet
key = Fernet.generate_key(); other = Fernet.generate_key()
rows = []
for i, (user, app, wrong) in enumerate([("alice", "Atlas", False), ("bob", "Atlas", False), ("carol", "Beacon", False), ("dave", "Beacon", True)]):
    plain = "OLD-%s-%d" % (sys.argv[1], i)
    rows.append({"username": user + "-" + sys.argv[1], "application": app, "unique_id": "%s-%d" % (sys.argv[1], i), "plain": plain,
                 "token": Fernet(other if wrong else key).encrypt(plain.encode()).decode(), "wrong": wrong})
print(json.dumps({"key": key.decode(), "otherKey": other.decode(), "rows": rows}))`;
  const run = spawnSync('/usr/bin/python3', ['-c', script, prefix], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as OldRows;
}

/** The old table: the licence column a bytea as django-fernet-fields made it; row 1 holds base64 of the token's bytes. */
async function createOldTable(client: pg.Pool | pg.Client, table: string, old: OldRows): Promise<void> {
  await client.query(`create table ${table} (id serial primary key, username varchar(150), application varchar(100), unique_id varchar(100) unique,
    license bytea, active boolean not null default true, expiration_date timestamptz)`);
  for (const [i, r] of old.rows.entries()) {
    const stored = i === 1 ? Buffer.from(Buffer.from(r.token, 'ascii').toString('base64'), 'ascii') : Buffer.from(r.token, 'ascii');
    await client.query(`insert into ${table} (username, application, unique_id, license, active, expiration_date) values ($1, $2, $3, $4, $5, $6)`, [
      r.username,
      r.application,
      r.unique_id,
      stored,
      i !== 2,
      i === 2 ? new Date('2024-01-01T00:00:00Z') : null,
    ]);
  }
}

test('a stored licence value is read as bytea, as token text, or as base64 of the token', () => {
  const token = `gAAAAA${'B'.repeat(94)}`;
  assert.equal(tokenOf(Buffer.from(token, 'ascii')), token);
  assert.equal(tokenOf(token), token);
  assert.equal(tokenOf(Buffer.from(token).toString('base64')), token);
  assert.equal(tokenOf(Buffer.from(Buffer.from(token).toString('base64'), 'ascii')), token);
  assert.equal(tokenOf('plain licence key'), undefined);
  assert.equal(tokenOf(42), undefined);
});

describe('the Django import service', { skip: !hasPython && 'no Python cryptography' }, () => {
  const t = useTestDatabases();

  test('every decryptable row is written under the primary key, the other is refused with its reason, and a rerun writes nothing', async () => {
    const prefix = unique('DJ');
    const old = pythonRows(prefix);
    const table = `old_license_${prefix.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
    await createOldTable(t.databases.data.pool, table, old);
    const run = () => importDjangoLicences({ source: t.databases.data.pool, table, fernetKey: old.key, target: t.services.licences, batchSize: 2 });

    const first = await run();
    assert.deepEqual({ ...first, refused: first.refused.map((r) => r.row) }, { read: 4, written: 3, duplicates: 0, refused: [`${prefix}-3`] });
    assert.match(first.refused[0]!.reason, /does not decrypt.*BAD_MAC/);
    const again = await run();
    assert.deepEqual({ ...again, refused: again.refused.length }, { read: 4, written: 0, duplicates: 3, refused: 1 });

    const caller = systemCaller('import test');
    for (const r of old.rows.filter((x) => !x.wrong)) {
      const licence = await t.services.licences.byKey(caller, Secret.of(r.plain));
      assert.equal(licence.uniqueId, r.unique_id);
      assert.equal(t.services.licences.revealKey(caller, licence), r.plain);
      assert.equal(licence.sealedKey.keyId, t.keyring.primaryKeyId);
      assert.notEqual(licence.sealedKey.token, r.token, 'sealed again, not copied');
    }
    const expired = await t.services.licences.byKey(caller, Secret.of(old.rows[2]!.plain));
    assert.deepEqual([expired.active, expired.expiresAt?.toISOString()], [false, '2024-01-01T00:00:00.000Z']);
  });
});

describe('npm run import:django-licences', {
  skip: (!serverUrl() && 'the old database is a PostgreSQL one') || (!hasPython && 'no Python cryptography'),
}, () => {
  let scratch: Scratch;
  let oldDb: ScratchDatabase;
  before(async () => {
    scratch = await createScratch();
    const migrated = await runScript('db-migrate.ts', [], scratch.env);
    assert.equal(migrated.code, 0, migrated.stderr);
    oldDb = await createScratchDatabase(serverUrl()!, scratchName('django'));
  });
  after(async () => {
    await oldDb?.drop();
    await scratch?.drop();
  });

  test('imports with a progress bar and a summary; a row that does not decrypt is reported; a rerun duplicates nothing', async () => {
    const old = pythonRows('DJ');
    const client = new pg.Client({ connectionString: oldDb.url });
    await client.connect();
    try {
      await createOldTable(client, 'licensing_license', old);
    } finally {
      await client.end();
    }
    const args = ['--from', oldDb.url, '--table', 'public.licensing_license', '--fernet-key', old.key];
    const first = await runScript('import-django-licences.ts', args, scratch.env);
    assert.equal(first.code, 1, 'a refused row makes the exit status 1');
    assert.match(first.stdout, /read 4, written 3, skipped as duplicates 0, refused 1/);
    assert.match(first.stdout, /refused DJ-3: the licence does not decrypt with the given key \(BAD_MAC\)/);
    assert.match(first.stderr, /licences .*100%/);
    assert.ok(!`${first.stdout}${first.stderr}`.includes(old.key), 'the key is never printed');
    const again = await runScript('import-django-licences.ts', args, scratch.env);
    assert.match(again.stdout, /read 4, written 0, skipped as duplicates 3, refused 1/);

    // What was written opens under the new keyring, and holds none of the old tokens.
    const config = parseConfig(testEnv({ LOG_LEVEL: 'silent', ...scratch.env }));
    const databases = await openDatabases({ databaseUrl: config.databaseUrl, authDatabaseUrl: config.authDatabaseUrl, embeddedDir: undefined, poolMax: 2 });
    const keyring = await openKeyring({ database: databases.auth, config, logger: { info() {}, warn() {}, error() {} } });
    try {
      const licences = createLicenceService({ database: databases.data, cipher: keyring });
      const { rows } = await databases.data.pool.query<{ id: string; unique_id: string; licence_key: string }>(
        'select id, unique_id, licence_key from licensing.licences order by unique_id',
      );
      assert.deepEqual(
        rows.map((r) => r.unique_id),
        ['DJ-0', 'DJ-1', 'DJ-2'],
      );
      for (const [i, row] of rows.entries()) {
        assert.equal(licences.revealKey(systemCaller('test'), await licences.get(row.id)), old.rows[i]!.plain);
        assert.notEqual(row.licence_key, old.rows[i]!.token);
      }
    } finally {
      keyring.close();
      await databases.close();
    }
  });

  test('a malformed key or table name is a usage error', async () => {
    const bad = await runScript('import-django-licences.ts', ['--from', oldDb.url, '--table', 'x; drop table y', '--fernet-key', 'nope'], scratch.env);
    assert.equal(bad.code, 64);
    const badKey = await runScript('import-django-licences.ts', ['--from', oldDb.url, '--table', 'licensing_license', '--fernet-key', 'nope'], scratch.env);
    assert.equal(badKey.code, 64);
    assert.match(badKey.stderr, /--fernet-key is not a Fernet key/);
  });
});
