/**
 * The keyring over a database of its own (its rows are emptied, damaged and restored here):
 * master keys right, wrong and missing, damaged rows, MultiFernet fallback, promotion seen
 * by another process's keyring, and the development key file.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Fernet } from '../../src/crypto/fernet.ts';
import { type KeyringConfig, openKeyring, type Keyring } from '../../src/crypto/keyring.ts';
import { addKey, promoteKey, retireKey } from '../../src/crypto/keyring-store.ts';
import { DEV_MASTER_KEY_FILE } from '../../src/crypto/master-key.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { StrongroomError } from '../../src/errors.ts';
import { type PrivateDatabases, privateDatabases } from '../helpers/private-databases.ts';
import { startProcess } from '../helpers/process.ts';

const silent = { info() {}, warn() {}, error() {} };
const newKey = () => randomBytes(32).toString('base64');

/** The error's code and, for KEYRING_UNAVAILABLE, its reason. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StrongroomError, `expected a coded error, got ${String(err)}`);
    const reason = err.extensions.reason;
    return reason ? `${err.code} ${String(reason)}` : err.code;
  }
  assert.fail('expected a refusal');
}

function refusalOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StrongroomError, `expected a coded error, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a refusal');
}

describe('the keyring', () => {
  let dbs: PrivateDatabases;
  let auth: Database;
  let dataDir: string;
  const masterKey = newKey();
  const config = (overrides: Partial<KeyringConfig> = {}): KeyringConfig => ({
    masterKey,
    masterKeyFile: undefined,
    masterKeyRsaPrivateKeyFile: undefined,
    nodeEnv: 'test',
    dataDir,
    keyringRefreshSeconds: 1,
    ...overrides,
  });
  const open = (overrides: Partial<KeyringConfig> = {}) => openKeyring({ database: auth, config: config(overrides), logger: silent });
  const rows = async () => (await auth.pool.query('select * from auth.keyring_keys order by kind, version')).rows as Record<string, unknown>[];
  const opened: Keyring[] = [];
  const track = (k: Keyring) => {
    opened.push(k);
    return k;
  };

  before(async () => {
    dbs = await privateDatabases();
    auth = await openDatabase('auth', { connectionString: dbs.env.AUTH_DATABASE_URL }, 4);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-keyring-'));
  });
  beforeEach(async () => {
    for (const k of opened.splice(0)) k.close();
    await auth.pool.query('delete from auth.keyring_keys');
  });
  after(async () => {
    for (const k of opened) k.close();
    await auth?.pool.end();
    await dbs?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the first start creates one primary key of each kind, and the keys are stored wrapped, never in the clear', async () => {
    const keyring = track(await open());
    const stored = await rows();
    assert.deepEqual(
      stored.map((r) => [r.kind, r.state, r.version]),
      [
        ['data', 'primary', 1],
        ['blind_index', 'primary', 1],
        ['code', 'primary', 1],
      ],
    );
    assert.equal(keyring.primaryKeyId, stored[0]!.id);
    const sealed = keyring.seal('a licence key');
    assert.equal(sealed.keyId, keyring.primaryKeyId);
    assert.equal(keyring.open(sealed), 'a licence key');
    for (const row of stored) assert.equal(row.wrapping, 'aes-256-gcm');
  });

  test('two processes starting at once on an empty keyring create one set of keys', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    track(a);
    track(b);
    assert.equal((await rows()).length, 3);
    assert.equal(a.primaryKeyId, b.primaryKeyId);
    assert.equal(b.open(a.seal('shared')), 'shared');
  });

  test('a wrong master key stops the opening with MASTER_KEY_WRONG, naming the source, and changes nothing', async () => {
    track(await open());
    const before = await rows();
    const error = await open({ masterKey: newKey() }).catch((e: unknown) => e as StrongroomError);
    assert.equal(await refusal(Promise.reject(error)), 'KEYRING_UNAVAILABLE MASTER_KEY_WRONG');
    assert.match((error as Error).message, /MASTER_KEY \(environment\)/);
    assert.deepEqual(await rows(), before);
  });

  test('a master key file that is missing or not a key is refused, naming the file', async () => {
    const missing = path.join(dataDir, 'no-such-key');
    const error = await open({ masterKey: undefined, masterKeyFile: missing }).catch((e: unknown) => e as Error);
    assert.equal(await refusal(Promise.reject(error)), 'KEYRING_UNAVAILABLE MASTER_KEY_MISSING');
    assert.ok((error as Error).message.includes(missing));
    const garbage = path.join(dataDir, 'garbage-key');
    await writeFile(garbage, 'not a key\n', { mode: 0o600 });
    assert.equal(await refusal(open({ masterKey: undefined, masterKeyFile: garbage })), 'KEYRING_UNAVAILABLE MASTER_KEY_INVALID');
    assert.equal((await rows()).length, 0, 'nothing was created');
  });

  test('production without a master key refuses to open, and generates no key file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-keyring-prod-'));
    try {
      assert.equal(await refusal(open({ masterKey: undefined, nodeEnv: 'production', dataDir: dir })), 'KEYRING_UNAVAILABLE MASTER_KEY_MISSING');
      await assert.rejects(stat(path.join(dir, DEV_MASTER_KEY_FILE)), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a truncated, edited or swapped keyring row is refused with KEY_ROW_INVALID', async () => {
    track(await open());
    const [data, blind] = await rows();
    const set = (id: unknown, wrapped: unknown) => auth.pool.query('update auth.keyring_keys set wrapped_key = $2 where id = $1', [id, wrapped]);
    const wrapped = String(data!.wrapped_key);
    const raw = Buffer.from(wrapped, 'base64');
    raw[20]! ^= 1;
    for (const damaged of [wrapped.slice(0, 20), raw.toString('base64'), String(blind!.wrapped_key)]) {
      await set(data!.id, damaged);
      assert.equal(await refusal(open()), 'KEYRING_UNAVAILABLE KEY_ROW_INVALID');
    }
    await set(data!.id, wrapped);
    await auth.pool.query('update auth.keyring_keys set version = 7 where id = $1', [data!.id]);
    assert.equal(await refusal(open()), 'KEYRING_UNAVAILABLE KEY_ROW_INVALID', 'a row whose version was changed');
  });

  test('a value naming an unknown key, a value of no key of the ring and a value never sealed are DECRYPTION_FAILED', async () => {
    const keyring = track(await open());
    const foreign = new Fernet(randomBytes(32)).encrypt('someone else');
    assert.equal(
      refusalOf(() => keyring.open({ token: foreign, keyId: 'dk_unknown' })),
      'DECRYPTION_FAILED',
    );
    assert.equal(
      refusalOf(() => keyring.open({ token: foreign, keyId: keyring.primaryKeyId })),
      'DECRYPTION_FAILED',
    );
    assert.equal(
      refusalOf(() => keyring.open({ token: 'LIC-1234-5678', keyId: null })),
      'DECRYPTION_FAILED',
    );
    assert.equal(
      refusalOf(() => keyring.open({ token: '', keyId: keyring.primaryKeyId })),
      'DECRYPTION_FAILED',
    );
    const sealed = keyring.seal('mine');
    assert.equal(keyring.open({ token: sealed.token, keyId: 'dk_unknown' }), 'mine', 'an unknown id still falls back to the ring');
    try {
      keyring.open({ token: foreign, keyId: null });
    } catch (err) {
      assert.doesNotMatch(String((err as Error).message), new RegExp(foreign.slice(0, 16)));
    }
  });

  test('a token made by another key of the ring opens whatever key id it is stored with (MultiFernet)', async () => {
    const keyring = track(await open());
    const material = randomBytes(32);
    const other = await addKey(auth.db, keyring.masterKey, 'data', material);
    await keyring.refresh();
    const token = new Fernet(material).encrypt('made by the other key');
    assert.equal(keyring.open({ token, keyId: other.id }), 'made by the other key');
    assert.equal(keyring.open({ token, keyId: keyring.primaryKeyId }), 'made by the other key');
    assert.equal(keyring.open({ token, keyId: null }), 'made by the other key');
  });

  test('only the primary seals: a promoted key takes over, a retired key neither seals nor opens others values', async () => {
    const keyring = track(await open());
    const first = keyring.primaryKeyId;
    const oldToken = keyring.seal('old').token;
    const material = randomBytes(32);
    const second = await addKey(auth.db, keyring.masterKey, 'data', material);
    await keyring.refresh();
    assert.equal(keyring.seal('x').keyId, first, 'an added key does not seal until promoted');
    await promoteKey(auth.db, second.id);
    await keyring.refresh();
    assert.equal(keyring.primaryKeyId, second.id);
    assert.equal(keyring.seal('x').keyId, second.id);
    assert.equal(keyring.open({ token: oldToken, keyId: first }), 'old');
    await retireKey(auth.db, first, async () => {});
    await keyring.refresh();
    assert.equal(keyring.seal('x').keyId, second.id);
    assert.equal(
      refusalOf(() => keyring.open({ token: oldToken, keyId: second.id })),
      'DECRYPTION_FAILED',
      'a retired key is no fallback',
    );
    assert.deepEqual(
      keyring
        .keys()
        .filter((k) => k.kind === 'data')
        .map((k) => [k.id, k.state]),
      [
        [first, 'retired'],
        [second.id, 'primary'],
      ],
    );
  });

  test('a key promoted by another process is noticed within KEYRING_REFRESH_SECONDS', async () => {
    const a = track(await open());
    const b = track(await open());
    const added = await addKey(auth.db, a.masterKey, 'data', randomBytes(32));
    await promoteKey(auth.db, added.id);
    // b was not told: its timer (every second here) must notice. Polled, with a bound far above the interval.
    const deadline = Date.now() + 15_000;
    while (b.primaryKeyId !== added.id && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.primaryKeyId, added.id);
    assert.equal(a.open(b.seal('from b')), 'from b');
  });

  test('blind indexes and code hashes are versioned, and a blind-index rotation looks up under both keys', async () => {
    const keyring = track(await open());
    assert.match(keyring.blindIndex('LIC-1'), /^1:[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(keyring.blindIndexes('LIC-1'), [keyring.blindIndex('LIC-1')]);
    const code = keyring.hashCode('123456');
    assert.match(code, /^1:[0-9a-f]{64}$/);
    assert.ok(keyring.matchesCode('123456', code));
    assert.ok(!keyring.matchesCode('123457', code));
    assert.ok(!keyring.matchesCode('123456', `9:${code.slice(2)}`), 'an unknown version never matches');
    const old = keyring.blindIndex('LIC-1');
    const next = await addKey(auth.db, keyring.masterKey, 'blind_index', randomBytes(32));
    await promoteKey(auth.db, next.id);
    await keyring.refresh();
    const both = keyring.blindIndexes('LIC-1');
    assert.equal(both.length, 2);
    assert.match(both[0]!, /^2:/);
    assert.equal(both[1], old);
    const nextCode = await addKey(auth.db, keyring.masterKey, 'code', randomBytes(32));
    await promoteKey(auth.db, nextCode.id);
    await keyring.refresh();
    assert.match(keyring.hashCode('123456'), /^2:/);
    assert.ok(keyring.matchesCode('123456', code), 'a code hashed before the promotion still matches');
  });

  test('an RSA key pair wraps the keyring, and another RSA key is refused', async () => {
    const pem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const file = path.join(dataDir, 'rsa.pem');
    const other = path.join(dataDir, 'other-rsa.pem');
    await writeFile(file, pem(), { mode: 0o600 });
    await writeFile(other, pem(), { mode: 0o600 });
    const keyring = track(await open({ masterKey: undefined, masterKeyRsaPrivateKeyFile: file }));
    assert.ok((await rows()).every((r) => r.wrapping === 'rsa-oaep-sha256'));
    const again = track(await open({ masterKey: undefined, masterKeyRsaPrivateKeyFile: file }));
    assert.equal(again.open(keyring.seal('rsa')), 'rsa');
    const error = await open({ masterKey: undefined, masterKeyRsaPrivateKeyFile: other }).catch((e: unknown) => e as Error);
    assert.equal(await refusal(Promise.reject(error)), 'KEYRING_UNAVAILABLE MASTER_KEY_WRONG');
    assert.ok((error as Error).message.includes(other));
  });

  test('in development a master key file is generated once under DATA_DIR with mode 0600, and reused on the next start', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-keyring-dev-'));
    try {
      const warnings: string[] = [];
      const logger = { ...silent, warn: (_: unknown, message: string) => void warnings.push(message) };
      const dev = { ...config(), masterKey: undefined, nodeEnv: 'development' as const, dataDir: dir };
      const first = track(await openKeyring({ database: auth, config: dev, logger }));
      const file = path.join(dir, DEV_MASTER_KEY_FILE);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal(warnings.length, 1);
      const content = await readFile(file, 'utf8');
      assert.ok(!warnings.join().includes(content.trim()), 'the log never holds the key');
      const second = track(await openKeyring({ database: auth, config: dev, logger }));
      assert.equal(await readFile(file, 'utf8'), content, 'the file is not rewritten');
      assert.equal(warnings.length, 1, 'the second start generates nothing');
      assert.equal(second.open(first.seal('dev')), 'dev');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the server started with another master key than its keyring was made with stops, naming the key source, and overwrites nothing', {
    timeout: 180_000,
  }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-keyring-start-'));
    try {
      const env = { PORT: '0', NODE_ENV: 'development', LOG_LEVEL: 'info', DATA_DIR: dir };
      const first = startProcess(env);
      await first.waitFor('Strongroom is ready');
      assert.ok(first.lines.some((l) => l.msg?.toString().startsWith('generated a master key file')));
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);
      const keyFile = await readFile(path.join(dir, DEV_MASTER_KEY_FILE), 'utf8');
      const wrong = startProcess({ ...env, MASTER_KEY: newKey() });
      assert.equal(await wrong.exited, 1);
      assert.match(wrong.stderr(), /another master key than the one from MASTER_KEY \(environment\)/);
      assert.equal(await readFile(path.join(dir, DEV_MASTER_KEY_FILE), 'utf8'), keyFile);
      const again = startProcess(env);
      await again.waitFor('Strongroom is ready');
      again.child.kill('SIGTERM');
      assert.equal(await again.exited, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
