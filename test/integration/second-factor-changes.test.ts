/**
 * Changing the second factor needs the strongest factor the user has: once an authenticator
 * is enrolled, enrolling or replacing it, regenerating recovery codes and turning email
 * codes off or on need a recent step with it or with a recovery code, never a mailed code
 * alone; each change mails a security notice. With email codes off, challenges offer only
 * the authenticator and recovery codes. The server's clock is moved 30 s before each TOTP
 * code, since a code's time step is accepted once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { rfc6238 } from '../helpers/totp.ts';
import { aUser, bearer, gqlFrom, signIn, signInVerified, type TestUser, type Tokens, VERIFY } from '../helpers/users.ts';

type Errors = { message: string; extensions?: Record<string, unknown> }[] | undefined;

describe('changing the second factor', () => {
  let s: TestServer;
  let mail: TestMailServer;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  /** The next 30-second step, so the next TOTP code has not been used. */
  const tick = () => {
    offsetMs += 30_000;
  };
  before(async () => {
    mail = await startMailServer();
    s = await startTestServer({ SMTP_URL: mail.url, SIGNING_KEY_ROTATION_DAYS: '3650' }, { now });
  });
  after(async () => {
    await s.close();
    await mail.close();
  });

  const as = <T = Record<string, unknown>>(tokens: Tokens, query: string, variables: Record<string, unknown> = {}) =>
    gqlFrom<T>(s.url, '127.0.0.1', query, variables, bearer(tokens.accessToken));
  const errorOf = (errors: Errors) => errors?.[0]?.extensions;
  const verify = async (challengeId: string, code: string) => {
    const r = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId, code });
    return { tokens: r.body.data?.verifySignIn, error: errorOf(r.body.errors) };
  };
  /** Signs in from a new device; answers the challenge with `answer` (the mailed code when it returns 'EMAIL'). */
  const signInWith = async (user: TestUser, deviceId: string, answer: () => string | 'EMAIL') => {
    const challenge = (await signIn(s, user, { deviceId })).body.data!.signIn.challenge!;
    const given = answer();
    const { tokens, error } = await verify(challenge.id, given === 'EMAIL' ? await mail.code(user.email) : given);
    assert.ok(tokens, JSON.stringify(error));
    return { tokens, challenge };
  };
  const stepUp = async (tokens: Tokens, answer: () => string) => {
    const step = await as<{ startStepUp: { id: string; channels: string[] } }>(tokens, 'mutation { startStepUp { id channels } }');
    const { tokens: stepped, error } = await verify(step.body.data!.startStepUp.id, answer());
    assert.ok(stepped, JSON.stringify(error));
    return stepped;
  };
  const enrol = async (tokens: Tokens) => {
    const secret = (await as<{ enrollTotp: { secret: string } }>(tokens, 'mutation { enrollTotp { secret } }')).body.data?.enrollTotp.secret;
    assert.ok(secret);
    tick();
    const confirmed = await as<{ confirmTotp: string[] }>(tokens, 'mutation C($c: String!) { confirmTotp(code: $c) }', { c: rfc6238(secret, now()) });
    assert.equal(confirmed.body.data?.confirmTotp.length, 10, JSON.stringify(confirmed.body.errors));
    return { secret, codes: confirmed.body.data!.confirmTotp };
  };
  const totpNow = (secret: string) => () => {
    tick();
    return rfc6238(secret, now());
  };
  const codeMailsTo = (user: TestUser) => mail.received.filter((m) => m.to.includes(user.email) && /sign-in code/.test(m.subject)).length;

  test('after an authenticator is enrolled, a mailed code alone cannot replace it or the recovery codes; the app or a recovery code can, and each change mails a notice', async () => {
    const user = await aUser(s).create();
    const first = await signInVerified(s, mail, user);
    const { secret, codes } = await enrol(first); // no authenticator yet: a mailed code was enough
    const setUp = await mail.next(user.email, /^Security notice: An authenticator app was set up$/);
    assert.match(setUp.body, /127\.0\.0\.1/);
    assert.match(setUp.body, /Test device/, 'the notice names the device by its label');
    assert.doesNotMatch(setUp.body, /test-device/, 'never by its id');

    const { tokens: byMail } = await signInWith(user, 'phone', () => 'EMAIL');
    const attempts: [string, string, Record<string, unknown>][] = [
      ['enrollTotp', 'mutation { enrollTotp { secret } }', {}],
      ['confirmTotp', 'mutation C($c: String!) { confirmTotp(code: $c) }', { c: '123456' }],
      ['regenerateRecoveryCodes', 'mutation { regenerateRecoveryCodes }', {}],
      ['setEmailCodes', 'mutation { setEmailCodes(enabled: false) { emailCodesEnabled } }', {}],
    ];
    for (const [name, query, variables] of attempts) {
      const r = await as(byMail, query, variables);
      assert.equal(errorOf(r.body.errors)?.code, 'SECOND_FACTOR_REQUIRED', name);
      assert.deepEqual(errorOf(r.body.errors)?.channels, ['TOTP', 'RECOVERY_CODE'], `${name} says which steps would do`);
    }
    const unchanged = await as<{ me: { totpEnabled: boolean; recoveryCodesRemaining: number } }>(byMail, '{ me { totpEnabled recoveryCodesRemaining } }');
    assert.deepEqual(unchanged.body.data, { me: { totpEnabled: true, recoveryCodesRemaining: 10 } });

    const byApp = await stepUp(byMail, totpNow(secret));
    const regenerated = await as<{ regenerateRecoveryCodes: string[] }>(byApp, 'mutation { regenerateRecoveryCodes }');
    const newCodes = regenerated.body.data!.regenerateRecoveryCodes;
    assert.equal(newCodes.length, 10);
    await mail.next(user.email, /^Security notice: New recovery codes were made$/);
    const tablet = (await signIn(s, user, { deviceId: 'tablet' })).body.data!.signIn.challenge!;
    assert.equal((await verify(tablet.id, codes[0]!)).error?.code, 'INVALID_CODE', 'the old recovery codes no longer work');
    assert.ok((await verify(tablet.id, newCodes[0]!)).tokens);

    const replaced = await enrol(byApp);
    await mail.next(user.email, /^Security notice: Your authenticator app was replaced$/);
    const laptop = (await signIn(s, user, { deviceId: 'laptop' })).body.data!.signIn.challenge!;
    assert.equal((await verify(laptop.id, totpNow(secret)())).error?.code, 'INVALID_CODE', 'the old app no longer works');
    assert.ok((await verify(laptop.id, totpNow(replaced.secret)())).tokens);
  });

  test('a user without an authenticator enrols after a mailed code, but a remembered sign-in alone is not enough', async () => {
    const user = await aUser(s).create();
    const byMail = await signInVerified(s, mail, user);
    const remembered = (await signIn(s, user)).body.data!.signIn.tokens; // same IP and device: no step now
    const r = await as(remembered, 'mutation { enrollTotp { secret } }');
    assert.equal(errorOf(r.body.errors)?.code, 'SECOND_FACTOR_REQUIRED');
    assert.deepEqual(errorOf(r.body.errors)?.channels, ['EMAIL', 'TOTP', 'RECOVERY_CODE']);
    const ok = await as<{ enrollTotp: { secret: string } }>(byMail, 'mutation { enrollTotp { secret } }');
    assert.ok(ok.body.data?.enrollTotp.secret);
  });

  test('with email codes off, challenges offer the app and recovery codes and mail no code (the notice still goes out); a recovery code turns them back on', async () => {
    const user = await aUser(s).create();
    const first = await signInVerified(s, mail, user);
    const { secret, codes } = await enrol(first);
    const byApp = await stepUp(first, totpNow(secret));
    const off = await as<{ setEmailCodes: { emailCodesEnabled: boolean } }>(byApp, 'mutation { setEmailCodes(enabled: false) { emailCodesEnabled } }');
    assert.deepEqual(off.body.data, { setEmailCodes: { emailCodesEnabled: false } });
    await mail.next(user.email, /^Security notice: Sign-in codes by email were turned off$/);
    const me = await as(byApp, '{ me { emailCodesEnabled secondFactorChannels } }');
    assert.deepEqual(me.body.data, { me: { emailCodesEnabled: false, secondFactorChannels: ['TOTP', 'RECOVERY_CODE'] } });

    const codeMails = codeMailsTo(user);
    const challenge = (await signIn(s, user, { deviceId: 'kiosk', deviceLabel: 'Library kiosk' })).body.data!.signIn.challenge!;
    assert.deepEqual(challenge.channels, ['TOTP', 'RECOVERY_CODE']);
    assert.equal(challenge.delivery, 'NOT_SENT');
    await mail.next(user.email, /^New sign-in from 127\.0\.0\.1, device Library kiosk$/);
    const resent = await gqlFrom<{ resendSignInCode: { delivery: string } }>(
      s.url,
      '127.0.0.1',
      'mutation R($id: ID!) { resendSignInCode(challengeId: $id) { delivery } }',
      {
        id: challenge.id,
      },
    );
    assert.equal(resent.body.data?.resendSignInCode.delivery, 'NOT_SENT');
    assert.equal(codeMailsTo(user), codeMails, 'no code is mailed');
    assert.equal((await verify(challenge.id, '000000')).error?.code, 'INVALID_CODE');

    // Lost the app: a recovery code is the strongest factor too.
    const { tokens: byRecovery } = await verify(challenge.id, codes[0]!);
    assert.ok(byRecovery);
    const on = await as<{ setEmailCodes: { emailCodesEnabled: boolean } }>(byRecovery, 'mutation { setEmailCodes(enabled: true) { emailCodesEnabled } }');
    assert.deepEqual(on.body.data, { setEmailCodes: { emailCodesEnabled: true } });
    await mail.next(user.email, /^Security notice: Sign-in codes by email were turned on$/);
    const next = (await signIn(s, user, { deviceId: 'kiosk-2' })).body.data!.signIn.challenge!;
    assert.deepEqual(next.channels, ['EMAIL', 'TOTP', 'RECOVERY_CODE']);
    assert.equal(next.delivery, 'SENT');
    const fresh = await enrol(byRecovery);
    assert.equal(fresh.codes.length, 10, 'and enrols a new app with it');
  });

  test('email codes cannot be turned off without an authenticator', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const r = await as(tokens, 'mutation { setEmailCodes(enabled: false) { emailCodesEnabled } }');
    assert.equal(errorOf(r.body.errors)?.code, 'BAD_USER_INPUT');
    assert.equal(errorOf(r.body.errors)?.field, 'enabled');
  });
});
