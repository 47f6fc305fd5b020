/**
 * The sealing step (src/services/secrets/seal.ts): values stored in the clear before their
 * column was encrypted (a NULL key id beside a value) fail closed until sealed; the step seals
 * them in batches under the primary key, is idempotent, and does not encrypt a Fernet token
 * twice. Each test runs in a transaction rolled back after it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/encrypted-columns.ts';
import { sealPlaintext } from '../../src/services/secrets/seal.ts';
import { useTestDatabases } from '../helpers/isolation.ts';

const AUTH_COLUMNS = ENCRYPTED_COLUMNS.filter((e) => e.database === 'auth');

describe('the sealing step', () => {
  const t = useTestDatabases();
  const insertUser = async (name: string, totp: string | null, pending: string | null) =>
    (
      await t.databases.auth.pool.query<{ id: string }>(
        `insert into auth.users (email, username, password_hash, totp_secret, totp_pending_secret) values ($1, $1, 'x', $2, $3) returning id`,
        [`${name}@seal.test`, totp, pending],
      )
    ).rows[0]!.id;
  const stored = async (id: string) =>
    (
      await t.databases.auth.pool.query<{
        totp_secret: string;
        totp_secret_key_id: string | null;
        totp_pending_secret: string | null;
        totp_pending_secret_key_id: string | null;
      }>('select totp_secret, totp_secret_key_id, totp_pending_secret, totp_pending_secret_key_id from auth.users where id = $1', [id])
    ).rows[0]!;
  const seal = () => sealPlaintext({ databases: t.databases, cipher: t.keyring, batchSize: 2, columns: AUTH_COLUMNS });

  test('values stored in the clear fail closed, are sealed in batches, open to what they were, and a second run seals nothing', async () => {
    const secrets = ['JBSWY3DPEHPK3PXP', 'GEZDGNBVGY3TQOJQ', 'MFRGGZDFMZTWQ2LK', 'ONSWG4TFOQ4TEMZS', 'KRUGS4ZANFZSAYJA'];
    const ids = [];
    for (const [i, secret] of secrets.entries()) ids.push(await insertUser(`plain-${i}`, secret, i === 0 ? 'PENDINGSECRET234' : null));
    const jwk = JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'x-value', d: 'd-value-in-the-clear' });
    await t.databases.auth.pool.query(`insert into auth.signing_keys (kid, alg, public_jwk, private_jwk) values ('plain-kid', 'EdDSA', '{}', $1)`, [jwk]);

    const before = await stored(ids[0]!);
    assert.throws(
      () => t.keyring.open({ token: before.totp_secret, keyId: before.totp_secret_key_id }),
      (err: { extensions?: { code?: string } }) => {
        assert.equal(err.extensions?.code, 'DECRYPTION_FAILED');
        return true;
      },
    );

    const report = await seal();
    assert.ok(report.sealed >= 7, JSON.stringify(report));
    for (const column of report.columns) assert.equal(column.remaining, 0, column.column);
    for (const [i, id] of ids.entries()) {
      const row = await stored(id);
      assert.equal(row.totp_secret_key_id, t.keyring.primaryKeyId);
      assert.notEqual(row.totp_secret, secrets[i]);
      assert.equal(t.keyring.open({ token: row.totp_secret, keyId: row.totp_secret_key_id }), secrets[i]);
    }
    const pending = await stored(ids[0]!);
    assert.equal(t.keyring.open({ token: pending.totp_pending_secret!, keyId: pending.totp_pending_secret_key_id }), 'PENDINGSECRET234');
    const key = (
      await t.databases.auth.pool.query<{ private_jwk: string; private_jwk_key_id: string }>(
        `select private_jwk, private_jwk_key_id from auth.signing_keys where kid = 'plain-kid'`,
      )
    ).rows[0]!;
    assert.equal(t.keyring.open({ token: key.private_jwk, keyId: key.private_jwk_key_id }), jwk);

    const sealedToken = (await stored(ids[1]!)).totp_secret;
    const again = await seal();
    assert.equal(again.sealed, 0);
    assert.equal((await stored(ids[1]!)).totp_secret, sealedToken, 'a sealed value is left as it is');
  });

  test('a Fernet token stored without its key id is sealed again from its plaintext, never encrypted twice', async () => {
    const token = t.keyring.seal('JBSWY3DPEHPK3PXP').token;
    const id = await insertUser('token-without-key', token, null);
    await seal();
    const row = await stored(id);
    assert.equal(row.totp_secret_key_id, t.keyring.primaryKeyId);
    assert.equal(t.keyring.open({ token: row.totp_secret, keyId: row.totp_secret_key_id }), 'JBSWY3DPEHPK3PXP');
  });
});
