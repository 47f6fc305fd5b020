import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashPassword, MIN_ITERATIONS, passwordProblem, verifyPassword } from '../../src/crypto/passwords.ts';

const current = { iterations: MIN_ITERATIONS };

describe('passwords', () => {
  test('the stored string carries algorithm, iterations, a 16-byte salt and the hash', async () => {
    const stored = await hashPassword('correct horse battery', current);
    const [alg, iterations, salt, hash] = stored.split('$');
    assert.equal(alg, 'pbkdf2-sha512');
    assert.equal(iterations, '210000');
    assert.equal(Buffer.from(salt!, 'base64').length, 16);
    assert.equal(Buffer.from(hash!, 'base64').length, 64);
  });

  test('the same password hashes differently each time (random salt)', async () => {
    assert.notEqual(await hashPassword('same password', current), await hashPassword('same password', current));
  });

  test('verification accepts the password and refuses any other', async () => {
    const stored = await hashPassword('correct horse battery', current);
    assert.deepEqual(await verifyPassword('correct horse battery', stored, current), { ok: true, needsRehash: false });
    assert.deepEqual(await verifyPassword('correct horse batterY', stored, current), { ok: false, needsRehash: false });
  });

  test('a hash made with fewer iterations verifies and asks to be upgraded', async () => {
    const old = await hashPassword('correct horse battery', { iterations: 1000 });
    assert.deepEqual(await verifyPassword('correct horse battery', old, current), { ok: true, needsRehash: true });
  });

  test('an unreadable stored value never matches', async () => {
    assert.equal((await verifyPassword('x', 'md5$abc', current)).ok, false);
    assert.equal((await verifyPassword('', '', current)).ok, false);
  });

  test('Unicode passwords are compared after NFKC normalisation', async () => {
    const stored = await hashPassword('caf\u00e9 au lait', current);
    assert.equal((await verifyPassword('cafe\u0301 au lait', stored, current)).ok, true);
  });

  test('hashing does not block the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await Promise.all([hashPassword('a long passphrase', current), hashPassword('another passphrase', current)]);
    clearInterval(timer);
    assert.ok(ticks > 5, `the event loop ran ${ticks} timers while hashing`);
  });

  test('length 8–128 and not a common password; no composition rules', () => {
    assert.match(passwordProblem('short') ?? '', /at least 8/);
    assert.match(passwordProblem('x'.repeat(129)) ?? '', /at most 128/);
    assert.match(passwordProblem('Password123') ?? '', /common/);
    assert.equal(passwordProblem('all lower case words'), undefined);
    assert.equal(passwordProblem('x'.repeat(128)), undefined);
  });
});
