/**
 * The auth database's secrets at rest: TOTP secrets (pending and confirmed) and signing
 * private keys are Fernet tokens beside the id of the data key that made them, which Python's
 * `cryptography` opens with that key; a stored value that does not open fails closed with
 * DECRYPTION_FAILED and is never used as stored; mailed and recovery codes are keyed HMACs;
 * a recovery code stored before (bare SHA-256) still works once. The server's clock moves
 * 30 s before each TOTP code, since a time step is accepted once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { encodeUrlSafeBase64 } from '../../src/crypto/fernet.ts';
import { readRows, unwrapRow } from '../../src/crypto/keyring-store.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { rfc6238 } from '../helpers/totp.ts';
import { aUser, bearer, gqlFrom, signIn, signInVerified, type TestUser, type Tokens, VERIFY } from '../helpers/users.ts';

const FERNET_TOKEN = /^gAAAAA[A-Za-z0-9_-]+=*$/;

/** Python's cryptography Fernet opening `token` with the URL-safe base64 `key` (both given on stdin, never on a command line). */
function pythonDecrypt(key: string, token: string): string {
  const script =
    'import sys, json; from cryptography.fernet import Fernet; a = json.load(sys.stdin); print(Fernet(a["key"].encode()).decrypt(a["token"].encode()).decode(), end="")';
  return execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify({ key, token }), encoding: 'utf8' });
}

describe('auth secrets at rest', () => {
  let s: TestServer;
  let mail: TestMailServer;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const tick = () => {
    offsetMs += 30_000;
  };
  before(async () => {
    mail = await startMailServer();
    s = await startTestServer({ SMTP_URL: mail.url }, { now });
  });
  after(async () => {
    await s.close();
    await mail.close();
  });

  const userRow = async (id: string) =>
    (
      await s.databases.auth.pool.query<{
        totp_secret: string | null;
        totp_secret_key_id: string | null;
        totp_pending_secret: string | null;
        totp_pending_secret_key_id: string | null;
      }>('select totp_secret, totp_secret_key_id, totp_pending_secret, totp_pending_secret_key_id from auth.users where id = $1', [id])
    ).rows[0]!;
  const dataKey = async (id: string) => {
    const row = (await readRows(s.databases.auth.db)).find((r) => r.id === id);
    assert.ok(row, `key ${id} is in the keyring`);
    return encodeUrlSafeBase64(unwrapRow(row, s.keyring.masterKey).material);
  };
  const enrolled = async (user: TestUser, tokens: Tokens) => {
    const as = <T>(query: string, variables: Record<string, unknown> = {}) => gqlFrom<T>(s.url, '127.0.0.1', query, variables, bearer(tokens.accessToken));
    const secret = (await as<{ enrollTotp: { secret: string } }>('mutation { enrollTotp { secret } }')).body.data!.enrollTotp.secret;
    const pending = await userRow(user.id);
    tick();
    const confirmed = await as<{ confirmTotp: string[] }>('mutation C($c: String!) { confirmTotp(code: $c) }', { c: rfc6238(secret, now()) });
    assert.equal(confirmed.body.data?.confirmTotp.length, 10, JSON.stringify(confirmed.body.errors));
    return { secret, pending, codes: confirmed.body.data!.confirmTotp };
  };
  /** Signs in from a new device and answers the challenge with `code()`. */
  const answer = async (user: TestUser, code: () => string) => {
    const challenge = (await signIn(s, user, { deviceId: `device-${Math.random()}` })).body.data!.signIn.challenge!;
    return gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code: code() });
  };

  test('a TOTP secret is stored as a Fernet token beside its key id, pending and confirmed, and Python opens it with that key', async () => {
    const user = await aUser(s).create();
    const { secret, pending } = await enrolled(user, await signInVerified(s, mail, user));
    assert.match(pending.totp_pending_secret!, FERNET_TOKEN);
    assert.equal(pending.totp_pending_secret_key_id, s.keyring.primaryKeyId);
    assert.equal(pythonDecrypt(await dataKey(pending.totp_pending_secret_key_id!), pending.totp_pending_secret!), secret);
    const row = await userRow(user.id);
    assert.match(row.totp_secret!, FERNET_TOKEN);
    assert.equal(row.totp_pending_secret, null);
    assert.equal(row.totp_pending_secret_key_id, null);
    assert.equal(pythonDecrypt(await dataKey(row.totp_secret_key_id!), row.totp_secret!), secret);
    tick();
    const signedIn = await answer(user, () => rfc6238(secret, now()));
    assert.ok(signedIn.body.data?.verifySignIn, JSON.stringify(signedIn.body.errors));
  });

  test('a TOTP secret that does not open, tampered or stored in the clear, fails closed with DECRYPTION_FAILED', async () => {
    const user = await aUser(s).create();
    const { secret } = await enrolled(user, await signInVerified(s, mail, user));
    const row = await userRow(user.id);
    const tampered = `${row.totp_secret!.slice(0, 60)}${row.totp_secret![60] === 'A' ? 'B' : 'A'}${row.totp_secret!.slice(61)}`;
    await s.databases.auth.pool.query('update auth.users set totp_secret = $2 where id = $1', [user.id, tampered]);
    tick();
    const refused = await answer(user, () => rfc6238(secret, now()));
    assert.equal(refused.body.errors?.[0]?.extensions?.code, 'DECRYPTION_FAILED');
    assert.doesNotMatch(JSON.stringify(refused.body), new RegExp(`${tampered.slice(10, 40)}|${secret}`));
    // The secret itself, with no key id (as before the sealing step): never taken as plaintext.
    await s.databases.auth.pool.query('update auth.users set totp_secret = $2, totp_secret_key_id = null where id = $1', [user.id, secret]);
    tick();
    const plain = await answer(user, () => rfc6238(secret, now()));
    assert.equal(plain.body.errors?.[0]?.extensions?.code, 'DECRYPTION_FAILED');
  });

  test('recovery codes are stored as keyed HMACs; one stored as bare SHA-256 before still answers a challenge, once', async () => {
    const user = await aUser(s).create();
    const { codes } = await enrolled(user, await signInVerified(s, mail, user));
    const stored = (await s.databases.auth.pool.query<{ code_hash: string }>('select code_hash from auth.recovery_codes where user_id = $1', [user.id])).rows;
    assert.equal(stored.length, 10);
    for (const { code_hash } of stored) assert.match(code_hash, /^\d+:[0-9a-f]{64}$/);
    assert.ok(!stored.some((r) => r.code_hash === createHash('sha256').update(codes[0]!.replace('-', '')).digest('hex')));
    const fresh = await answer(user, () => codes[0]!);
    assert.ok(fresh.body.data?.verifySignIn, JSON.stringify(fresh.body.errors));

    const legacy = 'abcde-fghjk';
    await s.databases.auth.pool.query('insert into auth.recovery_codes (user_id, code_hash) values ($1, $2)', [
      user.id,
      createHash('sha256').update('abcdefghjk').digest('hex'),
    ]);
    const first = await answer(user, () => legacy);
    assert.ok(first.body.data?.verifySignIn, JSON.stringify(first.body.errors));
    const second = await answer(user, () => legacy);
    assert.equal(second.body.errors?.[0]?.extensions?.code, 'INVALID_CODE');
  });

  test('a mailed code is stored as a keyed HMAC of the challenge and the code', async () => {
    const user = await aUser(s).create();
    const challenge = (await signIn(s, user, { deviceId: 'hmac-device' })).body.data!.signIn.challenge!;
    const code = await mail.code(user.email);
    const [row] = (await s.databases.auth.pool.query<{ code_hash: string }>('select code_hash from auth.challenges where id = $1', [challenge.id])).rows;
    assert.match(row!.code_hash, /^\d+:[0-9a-f]{64}$/);
    assert.notEqual(row!.code_hash.split(':')[1], createHash('sha256').update(`${challenge.id}:${code}`).digest('hex'));
    const verified = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code });
    assert.ok(verified.body.data?.verifySignIn, JSON.stringify(verified.body.errors));
  });

  test('signing private keys are stored as Fernet tokens that open to the JWK that signs', async () => {
    const rows = (
      await s.databases.auth.pool.query<{ kid: string; private_jwk: string; private_jwk_key_id: string }>(
        'select kid, private_jwk, private_jwk_key_id from auth.signing_keys',
      )
    ).rows;
    assert.ok(rows.length > 0);
    for (const row of rows) {
      assert.match(row.private_jwk, FERNET_TOKEN);
      const jwk = JSON.parse(pythonDecrypt(await dataKey(row.private_jwk_key_id), row.private_jwk)) as { kty: string; d: string };
      assert.equal(jwk.kty, 'OKP');
      assert.ok(jwk.d.length > 20);
    }
  });
});
