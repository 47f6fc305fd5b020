/**
 * `npm run keys` end to end (spawned, on a scratch database of its own), and the keys
 * service's refusal to retire a key that stored values still use.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Fernet } from '../../src/crypto/fernet.ts';
import { openKeyring, type Keyring } from '../../src/crypto/keyring.ts';
import { openDatabase, type Database, type Databases } from '../../src/db/client.ts';
import { StrongroomError } from '../../src/errors.ts';
import { createKeysService } from '../../src/services/keys.ts';
import { type PrivateDatabases, privateDatabases } from '../helpers/private-databases.ts';
import { createScratch, runScript, type Scratch } from '../helpers/scratch.ts';

const hasPython = spawnSync('/usr/bin/python3', ['-c', 'import cryptography']).status === 0;

/** `keys list` as rows of cells. */
const table = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s+/));

describe('npm run keys', () => {
  let scratch: Scratch;
  const env = () => ({ ...scratch.env, MASTER_KEY: masterKey, KEYRING_REFRESH_SECONDS: '1' });
  const masterKey = randomBytes(32).toString('base64');
  const keys = (...args: string[]) => runScript('keys.ts', args, env());

  before(async () => {
    scratch = await createScratch();
    const migrated = await runScript('db-migrate.ts', [], scratch.env);
    assert.equal(migrated.code, 0, migrated.stderr);
  });
  after(() => scratch.drop());

  test('list shows the first keys of each kind, made on first use, with the values each protects', async () => {
    const listed = await keys('list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^id\s+kind\s+version\s+state\s+created\s+values$/m);
    assert.deepEqual(
      table(listed.stdout).map((r) => [r[1], r[2], r[3], r[5]]),
      [
        ['data', '1', 'primary', '0'],
        ['blind-index', '1', 'primary', '0'],
        ['code', '1', 'primary', '0'],
      ],
    );
  });

  test('generate adds an active key, promote makes it primary (the old primary stays active), retire retires the old one', async () => {
    const oldPrimary = table((await keys('list')).stdout).find((r) => r[1] === 'data' && r[3] === 'primary')![0]!;
    const generated = await keys('generate');
    assert.equal(generated.code, 0, generated.stderr);
    const id = /generated data key (dk_[0-9a-f]+)/.exec(generated.stdout)![1]!;
    const promoted = await keys('promote', id);
    assert.equal(promoted.code, 0, promoted.stderr);
    const states = Object.fromEntries(table((await keys('list')).stdout).map((r) => [r[0], r[3]]));
    assert.equal(states[id], 'primary');
    assert.equal(states[oldPrimary], 'active');
    const retired = await keys('retire', oldPrimary);
    assert.equal(retired.code, 0, retired.stderr);
    assert.equal(Object.fromEntries(table((await keys('list')).stdout).map((r) => [r[0], r[3]]))[oldPrimary], 'retired');
  });

  test('retiring the primary key is refused with KEY_IN_USE, and an unknown id with NOT_FOUND', async () => {
    const primary = table((await keys('list')).stdout).find((r) => r[1] === 'data' && r[3] === 'primary')![0]!;
    const refused = await keys('retire', primary);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /KEY_IN_USE/);
    const unknown = await keys('promote', 'dk_nosuchkey');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NOT_FOUND/);
  });

  test('add imports a key made by Python Fernet.generate_key(), and refuses text that is not one', {
    skip: !hasPython && 'no python3 cryptography',
  }, async () => {
    const pythonKey = spawnSync('/usr/bin/python3', ['-c', 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'], {
      encoding: 'utf8',
    }).stdout.trim();
    const added = await keys('add', '--fernet-key', pythonKey, '--promote');
    assert.equal(added.code, 0, added.stderr);
    const id = /added data key (dk_[0-9a-f]+)/.exec(added.stdout)![1]!;
    assert.match(added.stdout, new RegExp(`${id} is now the primary data key`));
    assert.ok(!added.stdout.includes(pythonKey) && !added.stderr.includes(pythonKey), 'the key is never printed');
    const bad = await keys('add', '--fernet-key', 'not-a-key');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /BAD_USER_INPUT/);
  });

  test('an unknown command or a missing argument is a usage error listing the commands', async () => {
    for (const args of [['bogus'], ['promote'], ['retire', 'a', 'b'], []]) {
      const r = await keys(...args);
      assert.equal(r.code, 64, args.join(' '));
      assert.match(r.stderr, /npm run keys -- list/);
    }
  });

  test('a wrong master key stops the command with KEYRING_UNAVAILABLE', async () => {
    const r = await runScript('keys.ts', ['list'], { ...scratch.env, MASTER_KEY: randomBytes(32).toString('base64') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /KEYRING_UNAVAILABLE: .*MASTER_KEY \(environment\)/);
  });
});

describe('the keys service', () => {
  let dbs: PrivateDatabases;
  let auth: Database;
  let keyring: Keyring;
  before(async () => {
    dbs = await privateDatabases();
    auth = await openDatabase('auth', { connectionString: dbs.env.AUTH_DATABASE_URL }, 2);
    keyring = await openKeyring({
      database: auth,
      config: {
        masterKey: randomBytes(32).toString('base64'),
        masterKeyFile: undefined,
        masterKeyRsaPrivateKeyFile: undefined,
        nodeEnv: 'test',
        dataDir: '/nonexistent',
        keyringRefreshSeconds: 1,
      },
      logger: { info() {}, warn() {}, error() {} },
    });
    await auth.pool.query('create table public.sealed_things (id int primary key, secret text, secret_key_id text, secret_index text)');
  });
  after(async () => {
    keyring?.close();
    await auth?.pool.end();
    await dbs?.close();
  });

  test('a key is not retired while a stored value uses it, and is once the value moved to another key', async () => {
    const databases = { auth, data: auth, embedded: undefined, close: async () => {} } satisfies Databases;
    const service = createKeysService({
      databases,
      keyring,
      refreshSeconds: 0,
      columns: {
        encrypted: [
          { database: 'auth', table: 'public.sealed_things', idColumn: 'id', column: 'secret', keyIdColumn: 'secret_key_id', blindIndexColumn: 'secret_index' },
        ],
        codeHashes: [],
      },
    });
    const old = keyring.primaryKeyId;
    const sealed = keyring.seal('in use');
    await auth.pool.query('insert into public.sealed_things values (1, $1, $2, $3)', [sealed.token, sealed.keyId, keyring.blindIndex('in use')]);
    const next = await service.generate('data');
    await service.promote(next.id);
    const listed = await service.list();
    assert.equal(listed.find((k) => k.id === old)?.values, 1);
    assert.equal(listed.find((k) => k.kind === 'blind_index')?.values, 1);
    await assert.rejects(service.retire(old), (e: unknown) => e instanceof StrongroomError && e.code === 'KEY_IN_USE' && e.extensions.values === 1);
    const moved = keyring.seal(keyring.open({ token: sealed.token, keyId: sealed.keyId }));
    await auth.pool.query('update public.sealed_things set secret = $1, secret_key_id = $2 where id = 1', [moved.token, moved.keyId]);
    assert.equal((await service.retire(old)).state, 'retired');
    assert.equal(keyring.open(moved), 'in use');
    assert.throws(() => new Fernet(randomBytes(32)).decrypt(moved.token));
  });
});
