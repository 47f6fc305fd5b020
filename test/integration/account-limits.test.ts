/**
 * Password guesses against one account from many IP addresses lock it for every IP address
 * and device the account has not verified, for a time that doubles with each further
 * failure, up to a cap; its owner, signing in from a remembered IP address and device, is
 * locked out neither by that nor by a shared IP address's limit, while the password is still
 * checked and their own attempts have a budget. The same in memory and in Redis.
 *
 * Each test signs in from loopback addresses of its own (127.x.y.z): Redis keeps counts
 * across runs and processes, so a fixed address could be limited by an earlier run.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { aUser, gqlFrom, SIGN_IN, signInVerified, type SignInResult } from '../helpers/users.ts';

const freshIp = () => `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const store of ['memory', 'redis'] as const) {
  describe(`per-account limits across IP addresses (${store})`, () => {
    let s: TestServer;
    let mail: TestMailServer;
    before(async () => {
      mail = await startMailServer();
      s = await startTestServer({
        SMTP_URL: mail.url,
        RATE_LIMIT_ACCOUNT_FAILURES: '3',
        RATE_LIMIT_ACCOUNT_LOCK_SECONDS: '1',
        RATE_LIMIT_ACCOUNT_LOCK_MAX_SECONDS: '2',
        RATE_LIMIT_SIGN_IN_PER_IP: '4',
        RATE_LIMIT_SIGN_IN_PER_EMAIL_IP: '3',
        ...(store === 'redis' ? { REDIS_URL: 'redis://127.0.0.1:6379' } : {}),
      });
      assert.equal(s.server.services.auth.limits.store, store);
    });
    after(async () => {
      await s.close();
      await mail.close();
    });

    const attempt = (email: string, password: string, ip: string, deviceId = 'some-device'): Promise<SignInResult> =>
      gqlFrom(s.url, ip, SIGN_IN, { email, password, deviceId, deviceLabel: 'Test device' });
    const outcome = (r: SignInResult) => {
      const error = r.body.errors?.[0]?.extensions;
      if (!error) return r.body.data?.signIn.challenge ? 'CHALLENGE' : 'TOKENS';
      if (error.code !== 'RATE_LIMITED') return String(error.code);
      // A lock's seconds are exact; a window's depend on when it began.
      return Number(error.retryAfter) <= 60 ? `RATE_LIMITED ${error.retryAfter}` : 'RATE_LIMITED for the window';
    };

    test('failed passwords from many IP addresses lock the account, for a time that doubles up to the cap; a correct password then clears the count', async () => {
      const user = await aUser(s).create();
      const wrong = () => attempt(user.email, 'not the password', freshIp());
      const right = () => attempt(user.email, user.password, freshIp());
      for (let i = 0; i < 3; i++) assert.equal(outcome(await wrong()), 'UNAUTHENTICATED', `failure ${i + 1}, each from a new IP address`);
      assert.equal(outcome(await right()), 'RATE_LIMITED 1', 'locked after 3 failures, even for the right password');
      await sleep(1100);
      assert.equal(outcome(await wrong()), 'UNAUTHENTICATED');
      assert.equal(outcome(await right()), 'RATE_LIMITED 2', 'the next failure locks for twice as long');
      await sleep(2100);
      assert.equal(outcome(await wrong()), 'UNAUTHENTICATED');
      assert.equal(outcome(await right()), 'RATE_LIMITED 2', 'capped at RATE_LIMIT_ACCOUNT_LOCK_MAX_SECONDS');
      await sleep(2100);
      assert.equal(outcome(await right()), 'CHALLENGE');
      assert.equal(outcome(await wrong()), 'UNAUTHENTICATED');
      assert.equal(outcome(await right()), 'CHALLENGE', 'the correct password cleared the count');
      const { rows } = await s.databases.auth.pool.query<{ detail: { lockedForSeconds?: number } }>(
        `select detail from auth.audit_log where user_id = $1 and event = 'SIGN_IN_FAILED' order by id`,
        [user.id],
      );
      assert.deepEqual(
        rows.map((r) => r.detail.lockedForSeconds ?? 0),
        [0, 0, 1, 2, 2, 0],
        'the audit log says which failure started which lock',
      );
    });

    test('an unknown email is locked like a real one, so a lock does not tell which emails have accounts', async () => {
      const email = `nobody-${randomInt(1e9)}@example.test`;
      for (let i = 0; i < 3; i++) assert.equal(outcome(await attempt(email, 'guess', freshIp())), 'UNAUTHENTICATED');
      assert.equal(outcome(await attempt(email, 'guess', freshIp())), 'RATE_LIMITED 1');
    });

    test('a remembered IP address and device signs in while strangers hold the account locked and its shared IP address limited; its password is still checked, against a budget of its own', async () => {
      const officeIp = freshIp();
      const owner = await aUser(s).withRole('ADMIN').create();
      await signInVerified(s, mail, owner, { ip: officeIp, deviceId: 'owner-laptop' });
      const fromOwner = (password: string) => attempt(owner.email, password, officeIp, 'owner-laptop');

      for (let i = 0; i < 3; i++) await attempt(owner.email, 'stranger guess', freshIp());
      assert.equal(outcome(await attempt(owner.email, owner.password, freshIp())), 'RATE_LIMITED 1', 'strangers locked the account');
      assert.equal(
        outcome(await attempt(owner.email, owner.password, officeIp, 'another-device')),
        'RATE_LIMITED 1',
        'the office IP with another device is a stranger too',
      );
      assert.equal(outcome(await fromOwner(owner.password)), 'TOKENS', 'the remembered IP and device are not locked out');

      // Colleagues behind the same address use up its per-IP limit.
      for (let i = 0; i < 4; i++) await attempt(`colleague-${i}-${randomInt(1e9)}@example.test`, 'typo', officeIp);
      assert.equal(
        outcome(await attempt(`late-${randomInt(1e9)}@example.test`, 'typo', officeIp)),
        'RATE_LIMITED for the window',
        'the shared IP address is limited',
      );
      assert.equal(outcome(await fromOwner(owner.password)), 'TOKENS', 'but not for the remembered device on it');

      assert.equal(outcome(await fromOwner('not the password')), 'UNAUTHENTICATED', 'the password is still checked');
      assert.equal(outcome(await fromOwner('not the password')), 'UNAUTHENTICATED');
      assert.equal(outcome(await fromOwner('not the password')), 'UNAUTHENTICATED');
      assert.equal(outcome(await fromOwner(owner.password)), 'RATE_LIMITED for the window', 'its own budget (RATE_LIMIT_SIGN_IN_PER_EMAIL_IP) is spent');
    });
  });
}
