import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { rfc6238 } from '../helpers/totp.ts';
import { aUser, bearer, gqlFrom, signIn, signInVerified, VERIFY, type Challenge, type Tokens } from '../helpers/users.ts';

describe('authenticator apps, recovery codes, step-up and expiry', () => {
  let s: TestServer;
  let mail: TestMailServer;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const REFRESH = 'mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken secondFactorVerified } }';

  before(async () => {
    mail = await startMailServer();
    // Keys are shared with test files running beside this one: a clock moved a month ahead
    // must not rotate them (tokens.test.ts tests rotation on its own clock).
    s = await startTestServer({ SMTP_URL: mail.url, SESSION_TTL_DAYS: '30', SIGNING_KEY_ROTATION_DAYS: '3650' }, { now });
  });
  after(async () => {
    await s.close();
    await mail.close();
  });

  test('enrol an authenticator, confirm with an RFC 6238 code, then answer a challenge with TOTP and with a recovery code', async () => {
    offsetMs = 0;
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const enrolled = await gqlFrom<{ enrollTotp: { secret: string; uri: string; qrCodeSvg: string } }>(
      s.url,
      '127.0.0.1',
      'mutation { enrollTotp { secret uri qrCodeSvg } }',
      {},
      bearer(tokens.accessToken),
    );
    const { secret, uri, qrCodeSvg } = enrolled.body.data!.enrollTotp;
    assert.match(uri, new RegExp(`^otpauth://totp/Strongroom:${encodeURIComponent(user.email).replace(/\./g, '\\.')}\\?`));
    assert.match(uri, /algorithm=SHA1/);
    assert.match(uri, /digits=6/);
    assert.match(uri, /period=30/);
    assert.match(qrCodeSvg, /^data:image\/svg\+xml;base64,/);
    assert.match(Buffer.from(qrCodeSvg.split(',')[1]!, 'base64').toString(), /^<svg /);

    const wrong = await gqlFrom(
      s.url,
      '127.0.0.1',
      'mutation C($c: String!) { confirmTotp(code: $c) }',
      { c: rfc6238(secret, new Date(Date.now() - 300_000)) },
      bearer(tokens.accessToken),
    );
    assert.equal(wrong.body.errors?.[0]?.extensions?.code, 'INVALID_CODE');
    // One step of drift is accepted (an app whose clock is 30 s behind).
    const confirmed = await gqlFrom<{ confirmTotp: string[] }>(
      s.url,
      '127.0.0.1',
      'mutation C($c: String!) { confirmTotp(code: $c) }',
      { c: rfc6238(secret, new Date(Date.now() - 30_000)) },
      bearer(tokens.accessToken),
    );
    const codes = confirmed.body.data!.confirmTotp;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);

    // A new device: the challenge offers all three channels; the emailed code is not needed.
    const challenged = await signIn(s, user, { deviceId: 'phone' });
    const challenge = challenged.body.data!.signIn.challenge!;
    assert.deepEqual(challenge.channels, ['EMAIL', 'TOTP', 'RECOVERY_CODE']);
    offsetMs = 30_000; // the next time step, so the code is not the one used to confirm
    // One code for both tries: computed twice, a 30-second boundary between them would make it another code.
    const totpCode = rfc6238(secret, now());
    const viaTotp = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code: totpCode });
    assert.equal(viaTotp.body.data?.verifySignIn.secondFactorVerified, true);

    // The same TOTP code cannot be replayed on another challenge.
    const again = (await signIn(s, user, { deviceId: 'tablet' })).body.data!.signIn.challenge!;
    const replay = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId: again.id, code: totpCode });
    assert.equal(replay.body.errors?.[0]?.extensions?.code, 'INVALID_CODE');
    const viaRecovery = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: again.id, code: codes[0]!.toUpperCase() });
    assert.equal(viaRecovery.body.data?.verifySignIn.secondFactorVerified, true);

    // A recovery code works once.
    const third = (await signIn(s, user, { deviceId: 'laptop' })).body.data!.signIn.challenge!;
    const reused = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId: third.id, code: codes[0] });
    assert.equal(reused.body.errors?.[0]?.extensions?.code, 'INVALID_CODE');
    const me = await gqlFrom<{ me: { totpEnabled: boolean; recoveryCodesRemaining: number } }>(
      s.url,
      '127.0.0.1',
      '{ me { totpEnabled recoveryCodesRemaining } }',
      {},
      bearer(viaRecovery.body.data!.verifySignIn.accessToken),
    );
    assert.deepEqual(me.body.data, { me: { totpEnabled: true, recoveryCodesRemaining: 9 } });
    offsetMs = 0;
  });

  test('a dangerous mutation needs a recent second step: SECOND_FACTOR_REQUIRED with maxAge, then startStepUp and verify', async () => {
    offsetMs = 0;
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const secondFactorAt = decodeJwt(tokens.accessToken).sfa as number;
    offsetMs = 1000_000; // past enrollTotp's maxAge of 900 s (and past the access token's life)
    const refreshed = (await gqlFrom<{ refreshSession: Tokens }>(s.url, '127.0.0.1', REFRESH, { t: tokens.refreshToken })).body.data!.refreshSession;
    assert.equal(decodeJwt(refreshed.accessToken).sfa, secondFactorAt, 'refreshing keeps the time of the real second step');
    const stale = await gqlFrom(s.url, '127.0.0.1', 'mutation { enrollTotp { uri } }', {}, bearer(refreshed.accessToken));
    assert.equal(stale.body.errors?.[0]?.extensions?.code, 'SECOND_FACTOR_REQUIRED');
    assert.equal(stale.body.errors?.[0]?.extensions?.maxAge, 900);
    // A field without maxAge is still fine.
    const me = await gqlFrom(s.url, '127.0.0.1', '{ me { recoveryCodesRemaining } }', {}, bearer(refreshed.accessToken));
    assert.deepEqual(me.body.data, { me: { recoveryCodesRemaining: 0 } });

    const step = await gqlFrom<{ startStepUp: Challenge }>(
      s.url,
      '127.0.0.1',
      'mutation { startStepUp { id reason channels } }',
      {},
      bearer(refreshed.accessToken),
    );
    assert.equal(step.body.data?.startStepUp.reason, 'STEP_UP');
    const verified = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, {
      challengeId: step.body.data!.startStepUp.id,
      code: await mail.code(user.email),
    });
    const stepped = verified.body.data!.verifySignIn;
    assert.equal(stepped.refreshToken, null, 'a step-up keeps the current refresh token');
    const ok = await gqlFrom(s.url, '127.0.0.1', 'mutation { enrollTotp { uri } }', {}, bearer(stepped.accessToken));
    assert.match(JSON.stringify(ok.body.data), /otpauth:/);
    offsetMs = 0;
  });

  test('a challenge expires after ten minutes and the expiry is audited', async () => {
    offsetMs = 0;
    const user = await aUser(s).create();
    const challenge = (await signIn(s, user)).body.data!.signIn.challenge!;
    assert.ok(Math.abs(new Date(challenge.expiresAt).getTime() - (Date.now() + 600_000)) < 60_000);
    const code = await mail.code(user.email);
    offsetMs = 601_000;
    const late = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code });
    assert.equal(late.body.errors?.[0]?.extensions?.code, 'CHALLENGE_EXPIRED');
    const { rows } = await s.databases.auth.pool.query(`select event from auth.audit_log where user_id = $1 order by id`, [user.id]);
    assert.ok(rows.some((r: { event: string }) => r.event === 'CHALLENGE_EXPIRED'));
    offsetMs = 0;
  });

  test('a remembered device is challenged again after REMEMBER_DEVICE_DAYS', async () => {
    offsetMs = 0;
    const user = await aUser(s).create();
    await signInVerified(s, mail, user);
    assert.equal((await signIn(s, user)).body.data!.signIn.challenge, null);
    offsetMs = 31 * 86_400_000;
    assert.equal((await signIn(s, user)).body.data!.signIn.challenge?.reason, 'NEW_DEVICE');
    offsetMs = 0;
  });
});
