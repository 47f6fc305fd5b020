import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, type JWK } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { aUser, bearer, gqlFrom, signInVerified, type TestUser, type Tokens } from '../helpers/users.ts';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('access tokens and signing keys', () => {
  let s: TestServer;
  let mail: TestMailServer;
  let user: TestUser;
  let tokens: Tokens;
  // A clock the test moves: the server reads it for token times and key rotation.
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const meWith = (token: string) => gqlFrom<{ me: { email: string } }>(s.url, '127.0.0.1', '{ me { email } }', {}, bearer(token));
  const codeOf = (r: Awaited<ReturnType<typeof meWith>>) => r.body.errors?.[0]?.extensions?.code;

  before(async () => {
    mail = await startMailServer();
    s = await startTestServer({ SMTP_URL: mail.url, ACCESS_TOKEN_TTL_SECONDS: '900', SIGNING_KEY_ROTATION_DAYS: '30', SESSION_TTL_DAYS: '90' }, { now });
    user = await aUser(s).withRole('ANALYST').create();
    tokens = await signInVerified(s, mail, user);
  });
  after(async () => {
    await s.close();
    await mail.close();
  });

  test('the access token carries kid, iss, aud, sub, role, sid, exp and the second-step time, signed with EdDSA', async () => {
    const header = decodeProtectedHeader(tokens.accessToken);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(typeof header.kid, 'string');
    const claims = decodeJwt(tokens.accessToken);
    assert.equal(claims.iss, 'strongroom');
    assert.equal(claims.aud, 'strongroom-api');
    assert.equal(claims.role, 'ANALYST');
    assert.equal(typeof claims.sub, 'string');
    assert.equal(typeof claims.sid, 'string');
    assert.equal(claims.exp! - claims.iat!, 900);
    assert.ok(Math.abs((claims.sfa as number) - Date.now() / 1000) < 60);
    assert.deepEqual((await meWith(tokens.accessToken)).body.data, { me: { email: user.email } });
  });

  test('the JWKS publishes the public key (and no private part)', async () => {
    const res = await fetch(`${s.url}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    const jwks = (await res.json()) as { keys: JWK[] };
    const kid = decodeProtectedHeader(tokens.accessToken).kid;
    const key = jwks.keys.find((k) => k.kid === kid);
    assert.ok(key);
    assert.equal(key.alg, 'EdDSA');
    assert.equal(key.d, undefined);
  });

  test('alg "none" is refused', async () => {
    const [header, payload] = tokens.accessToken.split('.');
    const none = `${b64({ ...JSON.parse(Buffer.from(header!, 'base64url').toString()), alg: 'none' })}.${payload}.`;
    assert.equal(codeOf(await meWith(none)), 'UNAUTHENTICATED');
  });

  test('HS256 signed with the public key as the secret is refused', async () => {
    const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const kid = decodeProtectedHeader(tokens.accessToken).kid;
    const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const claims = decodeJwt(tokens.accessToken);
    const forged = await new SignJWT({ ...claims, role: 'ADMIN' }).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(secret);
    const r = await meWith(forged);
    assert.equal(codeOf(r), 'UNAUTHENTICATED');
    assert.match(r.body.errors![0]!.message, /algorithm/);
  });

  test('a tampered payload is refused', async () => {
    const [header, payload, signature] = tokens.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const tampered = `${header}.${b64({ ...claims, role: 'ADMIN' })}.${signature}`;
    const r = await meWith(tampered);
    assert.equal(codeOf(r), 'UNAUTHENTICATED');
    assert.match(r.body.errors![0]!.message, /signature/);
  });

  test('wrong audience, wrong issuer and an unknown kid are refused', async () => {
    const claims = decodeJwt(tokens.accessToken);
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const sign = (over: Record<string, unknown>, kid: string) =>
      new SignJWT({ ...claims, ...over }).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(privateKey);
    assert.equal(codeOf(await meWith(await sign({}, 'made-up-kid'))), 'UNAUTHENTICATED');
    // Signed with our real key (through the service) but for another audience or issuer:
    const key = await s.server.services.auth.keys.signingKey();
    const real = (over: Record<string, unknown>) =>
      new SignJWT({ ...claims, ...over }).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' }).sign(key.key);
    const wrongAud = await meWith(await real({ aud: 'another-api' }));
    assert.equal(codeOf(wrongAud), 'UNAUTHENTICATED');
    assert.match(wrongAud.body.errors![0]!.message, /aud/);
    const wrongIss = await meWith(await real({ iss: 'someone-else' }));
    assert.equal(codeOf(wrongIss), 'UNAUTHENTICATED');
    assert.match(wrongIss.body.errors![0]!.message, /iss/);
    // And the control: the same construction with the right claims is accepted.
    assert.deepEqual((await meWith(await real({}))).body.data, { me: { email: user.email } });
  });

  test('a garbage Authorization header is UNAUTHENTICATED on @auth fields, and public fields still answer', async () => {
    assert.equal(codeOf(await meWith('not.a.jwt')), 'UNAUTHENTICATED');
    const health = await gqlFrom(s.url, '127.0.0.1', '{ health { status } }', {}, bearer('not.a.jwt'));
    assert.deepEqual(health.body.data, { health: { status: 'OK' } });
  });

  test('an expired token is refused (frozen clock moved past exp)', async () => {
    offsetMs = 901_000;
    try {
      const r = await meWith(tokens.accessToken);
      assert.equal(codeOf(r), 'UNAUTHENTICATED');
      assert.match(r.body.errors![0]!.message, /expired/);
    } finally {
      offsetMs = 0;
    }
  });

  test('keys rotate after the rotation period; the old kid verifies until its tokens expire, then leaves the JWKS', async () => {
    const oldKid = decodeProtectedHeader(tokens.accessToken).kid;
    const REFRESH = 'mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }';
    const refresh = async (t: string | null) => (await gqlFrom<{ refreshSession: Tokens }>(s.url, '127.0.0.1', REFRESH, { t })).body.data!.refreshSession;
    const fresh = await signInVerified(s, mail, user); // same IP and device: no code needed
    // Times are set from the key's own creation: on the embedded database every test file
    // shares one auth database, so the key may have been made by an earlier file, minutes ago.
    const created = await s.databases.auth.pool.query<{ created_at: Date }>('select created_at from auth.signing_keys where kid = $1', [oldKid]);
    const keyAgeMs = Date.now() - created.rows[0]!.created_at.getTime();
    const at = (ms: number) => ms - keyAgeMs;
    offsetMs = at(30 * 86_400_000 - 600_000); // ten minutes before rotation is due
    const justBefore = await refresh(fresh.refreshToken);
    assert.equal(decodeProtectedHeader(justBefore.accessToken).kid, oldKid, 'the old key still signs before rotation is due');
    offsetMs = at(30 * 86_400_000);
    const rotated = await refresh(justBefore.refreshToken);
    const newKid = decodeProtectedHeader(rotated.accessToken).kid;
    assert.notEqual(newKid, oldKid, 'a new key signs once rotation is due');
    assert.deepEqual((await meWith(justBefore.accessToken)).body.data, { me: { email: user.email } }, 'tokens of the old key still verify');
    const kids = ((await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid);
    assert.ok(kids.includes(oldKid!) && kids.includes(newKid!));
    offsetMs = at(30 * 86_400_000) + 901_000;
    const kidsLater = ((await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid);
    assert.ok(!kidsLater.includes(oldKid!), 'the old key leaves the JWKS once its tokens have expired');
    assert.ok(kidsLater.includes(newKid!));
    offsetMs = 0;
  });
});
