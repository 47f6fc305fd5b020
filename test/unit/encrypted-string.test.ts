/**
 * The EncryptedString scalar and the Secret it wraps input in: nothing that turns an object
 * into text shows the value, a real log line included; the serializer refuses a Fernet token.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { Kind } from 'graphql';
import { Fernet, generateKey } from '../../src/crypto/fernet.ts';
import { Secret } from '../../src/crypto/secret.ts';
import { EncryptedString, looksLikeFernetToken } from '../../src/resolvers/EncryptedString.ts';
import { captureLogs } from '../helpers/logs.ts';

const VALUE = 'K7QF2-MZ4XA-SECRET-VALUE';

test('a Secret prints as [redacted] however it is turned into text, and reveals its value only when asked', () => {
  const secret = Secret.of(VALUE);
  for (const shown of [String(secret), `${secret}`, JSON.stringify({ key: secret }), inspect({ input: { key: secret } }, { depth: 5 })]) {
    assert.ok(!shown.includes(VALUE), shown);
    assert.match(shown, /redacted/);
  }
  assert.equal(secret.reveal(), VALUE);
  assert.equal(Secret.of({ not: 'a string' }).reveal(), undefined);
});

test('a Secret in a logged object, at any depth and under any key name, never reaches the log line', () => {
  const { lines, logger } = captureLogs('info');
  logger.info({ args: { input: { username: 'alice', key: Secret.of(VALUE) } }, variables: [Secret.of(VALUE)] }, 'resolver called');
  logger.error({ err: new Error(`failed with ${Secret.of(VALUE)}`) }, 'failure');
  assert.equal(lines.length, 2);
  assert.ok(!JSON.stringify(lines).includes(VALUE));
});

test('input values are wrapped whatever they are (a refusal would quote them), output refuses Fernet tokens', () => {
  assert.ok(EncryptedString.parseValue(VALUE) instanceof Secret);
  assert.equal((EncryptedString.parseValue(12) as Secret).reveal(), undefined);
  assert.equal((EncryptedString.parseLiteral({ kind: Kind.STRING, value: VALUE }, {}) as Secret).reveal(), VALUE);
  assert.equal((EncryptedString.parseLiteral({ kind: Kind.INT, value: '1' }, {}) as Secret).reveal(), undefined);
  assert.equal(EncryptedString.serialize(VALUE), VALUE);
  const token = new Fernet(generateKey()).encrypt(VALUE);
  assert.ok(looksLikeFernetToken(token));
  assert.throws(() => EncryptedString.serialize(token), TypeError);
  assert.throws(() => EncryptedString.serialize(new Fernet(generateKey()).encrypt('x'.repeat(4000))), TypeError);
  assert.throws(() => EncryptedString.serialize(Secret.of(VALUE)), TypeError);
  assert.equal(looksLikeFernetToken('gAAAAA-short'), false);
});
