import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { hashPassword } from '../../src/crypto/passwords.ts';
import { createRateLimits, RateLimitedError } from '../../src/services/auth/rate-limits.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer } from '../helpers/smtp.ts';
import { aUser, gqlFrom, signIn, VERIFY } from '../helpers/users.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('rate limits, timing and password upgrades', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });
  const start = async (env: Record<string, string>) => {
    const s = await startTestServer(env);
    servers.push(s);
    return s;
  };

  test('sign-in is limited per email and IP, with retryAfter; another IP is not affected', async () => {
    const s = await start({ RATE_LIMIT_SIGN_IN_PER_EMAIL_IP: '3', RATE_LIMIT_WINDOW_SECONDS: '60' });
    const user = await aUser(s).create();
    for (let i = 0; i < 3; i++) {
      const r = await signIn(s, { email: user.email, password: 'wrong password' });
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    }
    const limited = await signIn(s, user);
    assert.equal(limited.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED', 'even the right password waits');
    const retryAfter = Number(limited.body.errors?.[0]?.extensions?.retryAfter);
    assert.ok(retryAfter > 0 && retryAfter <= 60);
    const other = await signIn(s, user, { ip: '127.0.0.2' });
    assert.ok(other.body.data?.signIn.challenge);
  });

  test('sign-in is limited per IP across emails', async () => {
    const s = await start({ RATE_LIMIT_SIGN_IN_PER_IP: '4' });
    for (let i = 0; i < 4; i++) await signIn(s, { email: `nobody-${i}@example.test`, password: 'wrong password' });
    const r = await signIn(s, { email: 'another@example.test', password: 'wrong password' });
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  });

  test('code verification is limited per user across challenges', async () => {
    const mail = await startMailServer();
    const s = await start({ SMTP_URL: mail.url, RATE_LIMIT_VERIFY_PER_USER: '3' });
    try {
      const user = await aUser(s).create();
      const codes: string[] = [];
      for (let i = 0; i < 2; i++) {
        const c = (await signIn(s, user, { deviceId: `d${i}` })).body.data!.signIn.challenge!;
        codes.push(c.id);
      }
      const outcomes = [];
      for (const challengeId of [codes[0], codes[0], codes[1], codes[1]]) {
        const r = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId, code: '99999999' });
        outcomes.push(r.body.errors?.[0]?.extensions?.code);
      }
      assert.deepEqual(outcomes, ['INVALID_CODE', 'INVALID_CODE', 'INVALID_CODE', 'RATE_LIMITED']);
    } finally {
      await mail.close();
    }
  });

  test('an unknown email costs one PBKDF2 run, like a wrong password (no enumeration by timing)', async () => {
    const s = await start({ RATE_LIMIT_SIGN_IN_PER_EMAIL_IP: '1000', RATE_LIMIT_SIGN_IN_PER_IP: '1000' });
    const user = await aUser(s).create();
    const auth = s.server.services.auth;
    const attempt = async (email: string) => {
      const started = performance.now();
      await assert.rejects(auth.signIn({ email, password: 'wrong password', deviceId: 'd', deviceLabel: null, ip: '127.0.0.1' }), {
        extensions: { code: 'UNAUTHENTICATED' },
      });
      return performance.now() - started;
    };
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 5; i++) {
      unknown.push(await attempt(`nobody-${randomUUID()}@example.test`));
      wrong.push(await attempt(user.email));
    }
    // One PBKDF2 run at 210,000 iterations is tens of milliseconds at least; skipping it would be
    // a ratio of 10× or more. Within 2× either way means both paths hashed once.
    const ratio = median(unknown) / median(wrong);
    assert.ok(ratio > 0.5 && ratio < 2, `unknown ${median(unknown).toFixed(1)} ms vs wrong ${median(wrong).toFixed(1)} ms`);
  });

  test('a hash with older parameters is upgraded at sign-in', async () => {
    const s = await start({});
    const user = await aUser(s).create();
    const old = await hashPassword(user.password, { iterations: 100_000 });
    await s.databases.auth.pool.query('update auth.users set password_hash = $1 where id = $2', [old, user.id]);
    assert.ok((await signIn(s, user)).body.data?.signIn.challenge);
    const { rows } = await s.databases.auth.pool.query<{ password_hash: string }>('select password_hash from auth.users where id = $1', [user.id]);
    assert.match(rows[0]!.password_hash, /^pbkdf2-sha512\$210000\$/);
    assert.notEqual(rows[0]!.password_hash, old);
    assert.ok((await signIn(s, user)).body.data?.signIn.challenge, 'the upgraded hash still accepts the password');
  });

  test('with REDIS_URL, limits are shared: a second limiter (another API process) sees the same count', async () => {
    const settings = {
      windowSeconds: 60,
      signInPerEmailIp: 2,
      signInPerIp: 100,
      verifyPerUser: 100,
      resendPerChallenge: 100,
      accountFailures: 100,
      accountLockSeconds: 60,
      accountLockMaxSeconds: 3600,
      accountWindowSeconds: 86_400,
      redisUrl: 'redis://127.0.0.1:6379',
      keyPrefix: `strongroom-test-${randomUUID()}`,
    };
    const a = createRateLimits(settings);
    const b = createRateLimits(settings);
    try {
      assert.equal(a.store, 'redis');
      await a.consume('signInPerEmailIp', 'x@example.test|127.0.0.1');
      await b.consume('signInPerEmailIp', 'x@example.test|127.0.0.1');
      await assert.rejects(a.consume('signInPerEmailIp', 'x@example.test|127.0.0.1'), RateLimitedError);
      await assert.rejects(b.consume('signInPerEmailIp', 'x@example.test|127.0.0.1'), (e: RateLimitedError) => Number(e.extensions.retryAfter) > 0);
      await a.reset('signInPerEmailIp', 'x@example.test|127.0.0.1');
      await b.consume('signInPerEmailIp', 'x@example.test|127.0.0.1');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a server with REDIS_URL limits sign-in through Redis', async () => {
    const s = await start({ REDIS_URL: 'redis://127.0.0.1:6379', RATE_LIMIT_SIGN_IN_PER_EMAIL_IP: '2' });
    assert.equal(s.server.services.auth.limits.store, 'redis');
    const email = `redis-${randomUUID()}@example.test`;
    await signIn(s, { email, password: 'wrong password' });
    await signIn(s, { email, password: 'wrong password' });
    const r = await signIn(s, { email, password: 'wrong password' });
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  });
});
