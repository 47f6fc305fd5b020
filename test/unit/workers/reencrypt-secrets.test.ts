/**
 * The `reencryptSecrets` worker task, run here on the main thread (it is a plain function):
 * each value opens with the key its row names or another key given, comes back under the
 * primary key with its plaintext and timestamp kept, and a value no key opens comes back null.
 * Tokens from Python's `cryptography` are rotated too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { Fernet, generateKey } from '../../../src/crypto/fernet.ts';
import reencryptSecrets from '../../../src/workers/tasks/reencrypt-secrets.ts';

const timestampOf = (token: string) => Number(Buffer.from(token, 'base64url').readBigUInt64BE(1));

test('values under the named key, under another key given, and made by Python come back under the primary; one no key opens comes back null', async () => {
  const primary = { id: 'dk-new', key: generateKey() };
  const old = { id: 'dk-old', key: generateKey() };
  const other = { id: 'dk-other', key: generateKey() };
  const oldToken = new Fernet(old.key).encrypt('JBSWY3DPEHPK3PXP', { now: 1_700_000_000 });
  const misnamed = new Fernet(other.key).encrypt('{"kty":"OKP","d":"secret"}');
  const fromPython = execFileSync(
    '/usr/bin/python3',
    ['-c', 'import sys; from cryptography.fernet import Fernet; print(Fernet(sys.stdin.read().encode()).encrypt(b"LIC-PYTHON").decode(), end="")'],
    {
      input: old.key,
      encoding: 'utf8',
    },
  );
  const stranger = new Fernet(generateKey()).encrypt('nobody has this key');

  const { tokens } = await reencryptSecrets({
    keys: [primary, old, other],
    primaryKeyId: primary.id,
    values: [
      { token: oldToken, keyId: old.id },
      { token: misnamed, keyId: old.id },
      { token: fromPython, keyId: old.id },
      { token: stranger, keyId: old.id },
      { token: 'not a token', keyId: old.id },
    ],
  });
  const fresh = new Fernet(primary.key);
  assert.equal(fresh.decrypt(tokens[0]!), 'JBSWY3DPEHPK3PXP');
  assert.equal(timestampOf(tokens[0]!), 1_700_000_000, 'the token keeps its timestamp, as MultiFernet.rotate does');
  assert.equal(fresh.decrypt(tokens[1]!), '{"kty":"OKP","d":"secret"}');
  assert.equal(fresh.decrypt(tokens[2]!), 'LIC-PYTHON');
  assert.equal(tokens[3], null);
  assert.equal(tokens[4], null);
});

test('a primary key id not among the keys given is a programming error, not a silent pass', async () => {
  await assert.rejects(reencryptSecrets({ keys: [{ id: 'a', key: generateKey() }], primaryKeyId: 'b', values: [] }), TypeError);
});
