/**
 * No secret in the clear in either database. After the fixtures, a user who enrolled an
 * authenticator and signed in with it, recovery codes and (when licences are encrypted) a
 * licence, every text, bytea and json(b) column of every table in both databases is read,
 * and so is each table's `row_to_json` dump (which sees every column whatever its type).
 * None of the known plaintexts may appear: the TOTP seed, the recovery codes, the licence
 * key, the signing keys' private `d`, the master key and the data keys (as base64, URL-safe
 * base64 and hex).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/encrypted-columns.ts';
import { readRows, unwrapRow } from '../../src/crypto/keyring-store.ts';
import { aLicence } from '../helpers/builders.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { rfc6238 } from '../helpers/totp.ts';
import { aUser, bearer, gqlFrom, signIn, signInVerified, VERIFY } from '../helpers/users.ts';

const SCANNED_TYPES = new Set(['text', 'character varying', 'character', 'bytea', 'json', 'jsonb', 'USER-DEFINED', 'ARRAY']);

/** Every form a secret could be written in: as given, base64, URL-safe base64, hex. */
function formsOf(secret: string | Buffer): string[] {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  const forms = [bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'), bytes.toString('hex')];
  if (typeof secret === 'string') forms.push(secret, secret.toLowerCase());
  return forms.filter((f) => f.length >= 8);
}

/** Every column value and row dump of every table outside the system schemas, as text. */
async function everything(pool: pg.Pool): Promise<{ where: string; text: string }[]> {
  const out: { where: string; text: string }[] = [];
  const tables = await pool.query<{ schema: string; name: string }>(
    `select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
  );
  for (const { schema, name } of tables.rows) {
    const table = `"${schema}"."${name}"`;
    for (const row of (await pool.query<{ j: string }>(`select row_to_json(t)::text as j from ${table} t`)).rows)
      out.push({ where: `${table} row`, text: row.j });
    const columns = await pool.query<{ column: string; type: string }>(
      `select column_name as column, data_type as type from information_schema.columns where table_schema = $1 and table_name = $2`,
      [schema, name],
    );
    for (const { column, type } of columns.rows) {
      if (!SCANNED_TYPES.has(type)) continue;
      const values = await pool.query<{ v: string | null }>(
        type === 'bytea' ? `select encode("${column}", 'escape') as v from ${table}` : `select "${column}"::text as v from ${table}`,
      );
      for (const { v } of values.rows) if (v !== null) out.push({ where: `${table}.${column}`, text: v });
    }
  }
  return out;
}

describe('secrets at rest', () => {
  let s: TestServer;
  let mail: TestMailServer;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  before(async () => {
    mail = await startMailServer();
    s = await startTestServer({ SMTP_URL: mail.url }, { now });
  });
  after(async () => {
    await s.close();
    await mail.close();
  });

  test('no known plaintext appears in any column or row dump of either database', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const as = <T>(query: string, variables: Record<string, unknown> = {}) => gqlFrom<T>(s.url, '127.0.0.1', query, variables, bearer(tokens.accessToken));
    const secret = (await as<{ enrollTotp: { secret: string } }>('mutation { enrollTotp { secret } }')).body.data!.enrollTotp.secret;
    offsetMs += 30_000;
    const confirmed = await as<{ confirmTotp: string[] }>('mutation C($c: String!) { confirmTotp(code: $c) }', { c: rfc6238(secret, now()) });
    const recoveryCodes = confirmed.body.data!.confirmTotp;
    assert.equal(recoveryCodes.length, 10, JSON.stringify(confirmed.body.errors));
    // A sign-in answered with the authenticator.
    const challenge = (await signIn(s, user, { deviceId: 'scan-device' })).body.data!.signIn.challenge!;
    offsetMs += 30_000;
    const verified = await gqlFrom<{ verifySignIn: unknown }>(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code: rfc6238(secret, now()) });
    assert.ok(verified.body.data?.verifySignIn, JSON.stringify(verified.body.errors));

    const known: { what: string; forms: string[] }[] = [
      { what: 'the TOTP seed', forms: formsOf(secret) },
      ...recoveryCodes.map((code) => ({ what: 'a recovery code', forms: [code, code.replace('-', '')] })),
    ];
    if (ENCRYPTED_COLUMNS.some((e) => e.table === 'licensing.licences')) {
      const licenceKey = `SCAN-${Date.now()}-KEY-9F3A`;
      await aLicence().withKey(licenceKey).create(s.server.services);
      known.push({ what: 'the licence key', forms: formsOf(licenceKey) });
    }
    const keyring = s.keyring;
    for (const row of await s.databases.auth.pool
      .query<{ private_jwk: string; private_jwk_key_id: string | null }>('select private_jwk, private_jwk_key_id from auth.signing_keys')
      .then((r) => r.rows)) {
      const d = (JSON.parse(keyring.open({ token: row.private_jwk, keyId: row.private_jwk_key_id })) as { d: string }).d;
      known.push({ what: 'a signing key d', forms: formsOf(Buffer.from(d, 'base64url')) });
    }
    known.push({ what: 'the master key', forms: formsOf(Buffer.from(s.config.masterKey!, 'base64')) });
    for (const row of await readRows(s.databases.auth.db)) {
      known.push({ what: `keyring key ${row.id}`, forms: formsOf(unwrapRow(row, keyring.masterKey).material) });
    }

    const found: string[] = [];
    const scanned = [...(await everything(s.databases.auth.pool)), ...(await everything(s.databases.data.pool))];
    // The scan sees what is stored in the clear: the user's email, in a column and in the row dump.
    assert.ok(
      scanned.some((v) => v.where === '"auth"."users".email' && v.text === user.email),
      'the scan reads the users table',
    );
    assert.ok(
      scanned.some((v) => v.where === '"auth"."users" row' && v.text.includes(user.email)),
      'the scan reads the row dumps',
    );
    for (const { where, text } of scanned) {
      for (const { what, forms } of known) if (forms.some((f) => text.includes(f))) found.push(`${what} in ${where}`);
    }
    assert.deepEqual(found, []);
  });
});
