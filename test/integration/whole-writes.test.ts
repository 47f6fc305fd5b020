/**
 * Flows that write several rows write all of them or none. Each test makes one write of a
 * flow fail inside the real database (a trigger, test/helpers/fail-writes.ts), then looks
 * at every row the flow touches: nothing is half-done, nothing was mailed for a rollback,
 * and once the fault is gone the same request succeeds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemCaller } from '../../src/services/auth/caller.ts';
import { failWrites } from '../helpers/fail-writes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { rfc6238 } from '../helpers/totp.ts';
import { aUser, bearer, gqlFrom, signIn, signInVerified, VERIFY, type TestUser, type Tokens } from '../helpers/users.ts';

const REFRESH = 'mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }';
const CONFIRM = 'mutation C($c: String!) { confirmTotp(code: $c) }';

describe('flows that write several rows write all of them or none', () => {
  let s: TestServer;
  let mail: TestMailServer;
  before(async () => {
    mail = await startMailServer();
    s = await startTestServer({ SMTP_URL: mail.url });
  });
  after(async () => {
    await s.close();
    await mail.close();
  });

  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[]) => (await s.databases.auth.pool.query(sql, params)).rows as T[];
  const count = async (sql: string, params: unknown[]) => Number((await rows<{ n: string }>(`select count(*) as n from ${sql}`, params))[0]!.n);
  const codeOf = (r: { body: { errors?: { extensions?: Record<string, unknown> }[] } }) => r.body.errors?.[0]?.extensions?.code;
  const mailsTo = (user: TestUser) => mail.received.filter((m) => m.to.includes(user.email)).length;
  const failing = (table: string, op: 'INSERT' | 'UPDATE', when: string) => failWrites(s.databases.auth.pool, table, op, when);

  test('answering a challenge that fails at any of its writes leaves nothing half-done, and the same code works once the fault is gone', async () => {
    const user = await aUser(s).create();
    const challenge = (await signIn(s, user, { deviceId: 'laptop' })).body.data!.signIn.challenge!;
    const code = await mail.code(user.email);
    const sessionId = (await rows<{ session_id: string }>('select session_id from auth.challenges where id = $1', [challenge.id]))[0]!.session_id;
    const faults: [string, string][] = [
      ['auth.known_origins', `NEW.user_id = '${user.id}' AND NEW.kind = 'DEVICE'`], // half-way: the IP is remembered by then
      ['auth.refresh_tokens', `NEW.session_id = '${sessionId}'`],
      ['auth.audit_log', `NEW.user_id = '${user.id}' AND NEW.event = 'CHALLENGE_VERIFIED'`], // the last write
    ];
    for (const [table, when] of faults) {
      const heal = await failing(table, 'INSERT', when);
      try {
        assert.equal(codeOf(await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code })), 'INTERNAL_SERVER_ERROR', table);
      } finally {
        await heal();
      }
      const [c] = await rows<{ status: string; attempts: number }>('select status, attempts from auth.challenges where id = $1', [challenge.id]);
      assert.deepEqual(c, { status: 'PENDING', attempts: 0 }, `${table}: the challenge is neither spent nor charged an attempt`);
      const [session] = await rows<{ second_factor_at: Date | null }>('select second_factor_at from auth.sessions where id = $1', [sessionId]);
      assert.equal(session?.second_factor_at, null, `${table}: the session is not verified`);
      assert.equal(await count('auth.known_origins where user_id = $1', [user.id]), 0, `${table}: nothing is remembered`);
      assert.equal(await count('auth.refresh_tokens where session_id = $1', [sessionId]), 0, `${table}: no refresh token`);
      assert.equal(await count(`auth.audit_log where user_id = $1 and event = 'CHALLENGE_VERIFIED'`, [user.id]), 0);
    }
    const ok = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code });
    assert.equal(ok.body.data?.verifySignIn.secondFactorVerified, true, JSON.stringify(ok.body.errors));
    assert.equal(await count('auth.known_origins where user_id = $1', [user.id]), 2);
  });

  test('refresh rotation failing at its new token leaves the old one unspent (no false reuse alarm after)', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const sessionId = (await rows<{ id: string }>('select id from auth.sessions where user_id = $1', [user.id]))[0]!.id;
    const heal = await failing('auth.refresh_tokens', 'INSERT', `NEW.session_id = '${sessionId}'`);
    try {
      assert.equal(codeOf(await gqlFrom(s.url, '127.0.0.1', REFRESH, { t: tokens.refreshToken })), 'INTERNAL_SERVER_ERROR');
    } finally {
      await heal();
    }
    assert.equal(await count('auth.refresh_tokens where session_id = $1 and spent_at is not null', [sessionId]), 0);
    const again = await gqlFrom<{ refreshSession: Tokens }>(s.url, '127.0.0.1', REFRESH, { t: tokens.refreshToken });
    assert.ok(again.body.data?.refreshSession.refreshToken, JSON.stringify(again.body.errors));
  });

  test('TOTP confirmation failing at its audit row enrols nothing, keeps the old recovery codes, and mails no notice', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const auth = bearer(tokens.accessToken);
    const enrolled = await gqlFrom<{ enrollTotp: { secret: string } }>(s.url, '127.0.0.1', 'mutation { enrollTotp { secret } }', {}, auth);
    const totp = rfc6238(enrolled.body.data!.enrollTotp.secret, new Date());
    const mailsBefore = mailsTo(user);
    const heal = await failing('auth.audit_log', 'INSERT', `NEW.user_id = '${user.id}' AND NEW.event = 'TOTP_ENROLLED'`);
    try {
      assert.equal(codeOf(await gqlFrom(s.url, '127.0.0.1', CONFIRM, { c: totp }, auth)), 'INTERNAL_SERVER_ERROR');
    } finally {
      await heal();
    }
    const [u] = await rows<{ totp_secret: string | null; totp_pending_secret: string | null }>(
      'select totp_secret, totp_pending_secret from auth.users where id = $1',
      [user.id],
    );
    assert.equal(u?.totp_secret, null);
    assert.ok(u?.totp_pending_secret, 'the enrolment still waits for confirmation');
    assert.equal(await count('auth.recovery_codes where user_id = $1', [user.id]), 0);
    assert.equal(mailsTo(user), mailsBefore, 'no notice of a change that was rolled back');
    const confirmed = await gqlFrom<{ confirmTotp: string[] }>(s.url, '127.0.0.1', CONFIRM, { c: totp }, auth);
    assert.equal(confirmed.body.data?.confirmTotp.length, 10, JSON.stringify(confirmed.body.errors));
    await mail.next(user.email, /^Security notice: An authenticator app was set up$/);
  });

  test('user creation failing at its audit row creates no user', async () => {
    const email = `whole-${Date.now()}@example.test`;
    const input = { email, username: `whole-${Date.now()}`, password: 'long enough words', role: 'USER' as const };
    const heal = await failing('auth.audit_log', 'INSERT', `NEW.event = 'USER_CREATED' AND NEW.email = '${email}'`);
    try {
      await assert.rejects(s.server.services.auth.createUser(systemCaller('test'), input, '127.0.0.1'));
    } finally {
      await heal();
    }
    assert.equal(await count('auth.users where email = $1', [email]), 0);
    assert.equal((await s.server.services.auth.createUser(systemCaller('test'), input, '127.0.0.1')).email, email);
  });

  test('a sign-in whose challenge cannot be recorded opens no session and mails no code', async () => {
    const user = await aUser(s).create();
    const heal = await failing('auth.audit_log', 'INSERT', `NEW.user_id = '${user.id}' AND NEW.event = 'CHALLENGE_ISSUED'`);
    try {
      assert.equal(codeOf(await signIn(s, user)), 'INTERNAL_SERVER_ERROR');
    } finally {
      await heal();
    }
    assert.equal(await count('auth.sessions where user_id = $1', [user.id]), 0);
    assert.equal(await count('auth.challenges where user_id = $1', [user.id]), 0);
    assert.equal(mailsTo(user), 0, 'no code was mailed for a challenge that does not exist');
  });

  test('a remembered sign-in failing at its audit row opens no session', async () => {
    const user = await aUser(s).create();
    await signInVerified(s, mail, user);
    const heal = await failing('auth.audit_log', 'INSERT', `NEW.user_id = '${user.id}' AND NEW.event = 'SIGN_IN_SUCCEEDED'`);
    try {
      assert.equal(codeOf(await signIn(s, user)), 'INTERNAL_SERVER_ERROR');
    } finally {
      await heal();
    }
    assert.equal(await count('auth.sessions where user_id = $1', [user.id]), 1, 'only the first session');
  });

  test('a step-up failing at its audit row opens no challenge and mails nothing', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const before = await count('auth.challenges where user_id = $1', [user.id]);
    const mailsBefore = mailsTo(user);
    const heal = await failing('auth.audit_log', 'INSERT', `NEW.user_id = '${user.id}' AND NEW.event = 'CHALLENGE_ISSUED'`);
    try {
      assert.equal(codeOf(await gqlFrom(s.url, '127.0.0.1', 'mutation { startStepUp { id } }', {}, bearer(tokens.accessToken))), 'INTERNAL_SERVER_ERROR');
    } finally {
      await heal();
    }
    assert.equal(await count('auth.challenges where user_id = $1', [user.id]), before);
    assert.equal(mailsTo(user), mailsBefore);
  });

  test('a sign-out failing at its audit row leaves the session working', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const heal = await failing('auth.audit_log', 'INSERT', `NEW.user_id = '${user.id}' AND NEW.event = 'SIGNED_OUT'`);
    try {
      assert.equal(codeOf(await gqlFrom(s.url, '127.0.0.1', 'mutation { signOut }', {}, bearer(tokens.accessToken))), 'INTERNAL_SERVER_ERROR');
    } finally {
      await heal();
    }
    const me = await gqlFrom(s.url, '127.0.0.1', '{ me { email } }', {}, bearer(tokens.accessToken));
    assert.deepEqual(me.body.data, { me: { email: user.email } });
  });

  test('a challenge whose session was signed out is CHALLENGE_EXPIRED, returns no tokens and remembers nothing', async () => {
    const user = await aUser(s).create();
    const payload = (await signIn(s, user)).body.data!.signIn;
    const code = await mail.code(user.email);
    const out = await gqlFrom(s.url, '127.0.0.1', 'mutation { signOut }', {}, bearer(payload.tokens.accessToken));
    assert.deepEqual(out.body.data, { signOut: true });
    const late = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId: payload.challenge!.id, code });
    assert.equal(codeOf(late), 'CHALLENGE_EXPIRED');
    assert.equal(late.body.data ?? null, null);
    assert.equal(await count('auth.known_origins where user_id = $1', [user.id]), 0);
    assert.equal(await count('auth.refresh_tokens r join auth.sessions x on x.id = r.session_id where x.user_id = $1', [user.id]), 0);
    const [expired] = await rows<{ detail: { why: string } }>(`select detail from auth.audit_log where user_id = $1 and event = 'CHALLENGE_EXPIRED'`, [
      user.id,
    ]);
    assert.equal(expired?.detail.why, 'SESSION_ENDED');
    assert.ok((await signIn(s, user)).body.data?.signIn.challenge, 'the next sign-in is challenged again');
  });
});
