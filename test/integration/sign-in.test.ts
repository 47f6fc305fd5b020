import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { aUser, bearer, gqlFrom, signIn, signInVerified, VERIFY, type Tokens } from '../helpers/users.ts';

const ME = '{ me { email role totpEnabled recoveryCodesRemaining } }';
const SIGN_IN_DOC = 'mutation S($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "d") { challenge { id } } }';

describe('sign-in with a second step from new IPs and devices', () => {
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

  test('a first sign-in is challenged (NEW_DEVICE), mails a code and a notice, and the code gives verified tokens', async () => {
    const user = await aUser(s).create();
    const res = await signIn(s, user, { deviceLabel: 'Firefox on Linux' });
    const payload = res.body.data!.signIn;
    assert.equal(payload.challenge?.reason, 'NEW_DEVICE');
    assert.deepEqual(payload.challenge?.channels, ['EMAIL']);
    assert.equal(payload.challenge?.delivery, 'SENT');
    assert.equal(payload.tokens.secondFactorVerified, false);
    assert.equal(payload.tokens.refreshToken, null);
    const notice = await mail.next(user.email, /^New sign-in from 127\.0\.0\.1, device Firefox on Linux$/);
    assert.match(notice.body, /new device/);
    assert.match(notice.body, /text\/html/, 'the mail has an HTML part');
    assert.match(notice.body, /text\/plain/, 'and a text part');

    // Before the second step: @auth works, @twoFactor does not.
    const early = await gqlFrom(s.url, '127.0.0.1', '{ me { email } }', {}, bearer(payload.tokens.accessToken));
    assert.deepEqual(early.body.data, { me: { email: user.email } });

    const code = await mail.code(user.email);
    assert.match(code, /^\d{6}$/);
    const verified = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: payload.challenge!.id, code });
    const tokens = verified.body.data!.verifySignIn;
    assert.equal(tokens.secondFactorVerified, true);
    assert.ok(tokens.refreshToken);
    const me = await gqlFrom(s.url, '127.0.0.1', ME, {}, bearer(tokens.accessToken));
    assert.deepEqual(me.body.data, { me: { email: user.email, role: 'USER', totpEnabled: false, recoveryCodesRemaining: 0 } });

    // A code works once.
    const again = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId: payload.challenge!.id, code });
    assert.equal(again.body.errors?.[0]?.extensions?.code, 'CHALLENGE_EXPIRED');
  });

  test('the same IP and device again get tokens at once, without a code; another IP gets NEW_IP and a notice', async () => {
    const user = await aUser(s).create();
    await signInVerified(s, mail, user);
    const sentBefore = mail.received.length;

    const same = await signIn(s, user);
    assert.equal(same.body.data!.signIn.challenge, null);
    assert.equal(same.body.data!.signIn.tokens.secondFactorVerified, true);
    assert.ok(same.body.data!.signIn.tokens.refreshToken);
    assert.equal(mail.received.length, sentBefore, 'no mail for a remembered IP and device');

    const elsewhere = await signIn(s, user, { ip: '127.0.0.2' });
    assert.equal(elsewhere.body.data!.signIn.challenge?.reason, 'NEW_IP');
    const notice = await mail.next(user.email, /^New sign-in from 127\.0\.0\.2, device Test device$/);
    assert.match(notice.body, /new IP address/);
    const tokens = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.2', VERIFY, {
      challengeId: elsewhere.body.data!.signIn.challenge!.id,
      code: await mail.code(user.email),
    });
    assert.equal(tokens.body.data?.verifySignIn.secondFactorVerified, true);
    // Now remembered from there too.
    assert.equal((await signIn(s, user, { ip: '127.0.0.2' })).body.data!.signIn.challenge, null);
  });

  test('X-Forwarded-For is ignored without TRUST_PROXY: the socket address is the client', async () => {
    const user = await aUser(s).create();
    await gqlFrom(s.url, '127.0.0.1', SIGN_IN_DOC, { e: user.email, p: user.password }, { 'x-forwarded-for': '203.0.113.9' });
    await mail.next(user.email, /^New sign-in from 127\.0\.0\.1,/);
  });

  test('without rememberDevice, the next sign-in is challenged again', async () => {
    const user = await aUser(s).create();
    const first = await signIn(s, user, { deviceId: 'kiosk' });
    await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId: first.body.data!.signIn.challenge!.id, code: await mail.code(user.email), rememberDevice: false });
    const second = await signIn(s, user, { deviceId: 'kiosk' });
    assert.equal(second.body.data!.signIn.challenge?.reason, 'NEW_DEVICE');
  });

  test('an unknown email and a wrong password fail alike', async () => {
    const user = await aUser(s).create();
    const unknown = await signIn(s, { email: 'nobody@example.test', password: 'whatever-password' });
    const wrong = await signIn(s, { email: user.email, password: 'not the password' });
    assert.equal(unknown.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.deepEqual(unknown.body.errors?.[0]?.message, wrong.body.errors?.[0]?.message);
    assert.deepEqual(unknown.body.errors?.[0]?.extensions, wrong.body.errors?.[0]?.extensions);
  });

  test('the email is matched without regard to case', async () => {
    const user = await aUser(s).create();
    const res = await signIn(s, { email: user.email.toUpperCase(), password: user.password });
    assert.ok(res.body.data?.signIn.challenge);
  });

  test('wrong codes count down, and after five the challenge is dead even for the right code', async () => {
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    const challengeId = res.body.data!.signIn.challenge!.id;
    const code = await mail.code(user.email);
    const wrong = code === '000000' ? '111111' : '000000';
    const left: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId, code: wrong });
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'INVALID_CODE');
      left.push(r.body.errors?.[0]?.extensions?.attemptsLeft);
    }
    assert.deepEqual(left, [4, 3, 2, 1, 0]);
    const late = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId, code });
    assert.equal(late.body.errors?.[0]?.extensions?.code, 'CHALLENGE_EXPIRED');
  });

  test('brute force in parallel cannot exceed the attempt limit', async () => {
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    const challengeId = res.body.data!.signIn.challenge!.id;
    const code = await mail.code(user.email);
    const guesses = Array.from({ length: 20 }, (_, i) => String(i).padStart(6, '0')).filter((g) => g !== code);
    const results = await Promise.all(guesses.map((g) => gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId, code: g })));
    const invalid = results.filter((r) => r.body.errors?.[0]?.extensions?.code === 'INVALID_CODE').length;
    assert.equal(invalid, 5, 'exactly five guesses were judged; the rest found the challenge dead');
    const final = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId, code });
    assert.equal(final.body.errors?.[0]?.extensions?.code, 'CHALLENGE_EXPIRED');
  });

  test('an unknown or malformed challenge id is CHALLENGE_EXPIRED', async () => {
    for (const challengeId of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const r = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId, code: '123456' });
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'CHALLENGE_EXPIRED');
    }
  });

  test('resend mails a new code that replaces the old one, and is rate-limited per challenge', async () => {
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    const challengeId = res.body.data!.signIn.challenge!.id;
    const oldCode = await mail.code(user.email);
    const RESEND = 'mutation R($id: ID!) { resendSignInCode(challengeId: $id) { id delivery } }';
    const r1 = await gqlFrom(s.url, '127.0.0.1', RESEND, { id: challengeId });
    assert.equal((r1.body.data as { resendSignInCode: { delivery: string } }).resendSignInCode.delivery, 'SENT');
    const newCode = await mail.code(user.email);
    await gqlFrom(s.url, '127.0.0.1', RESEND, { id: challengeId });
    await gqlFrom(s.url, '127.0.0.1', RESEND, { id: challengeId });
    const limited = await gqlFrom(s.url, '127.0.0.1', RESEND, { id: challengeId });
    assert.equal(limited.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
    assert.ok(Number(limited.body.errors?.[0]?.extensions?.retryAfter) > 0);
    await mail.code(user.email);
    const latest = await mail.code(user.email);
    for (const stale of new Set([oldCode, newCode].filter((c) => c !== latest))) {
      const r = await gqlFrom(s.url, '127.0.0.1', VERIFY, { challengeId, code: stale });
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'INVALID_CODE', 'a replaced code no longer works');
    }
    const ok = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId, code: latest });
    assert.equal(ok.body.data?.verifySignIn.secondFactorVerified, true);
  });

  test('a pre-second-factor token cannot reach a @twoFactor field through an alias, a fragment or a nested type', async () => {
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    const auth = bearer(res.body.data!.signIn.tokens.accessToken);
    const documents = [
      '{ me { n: recoveryCodesRemaining } }',
      '{ me { ...F } } fragment F on User { recoveryCodesRemaining }',
      '{ me { ... on User { recoveryCodesRemaining } } }',
      '{ a: me { email } b: me { recoveryCodesRemaining } }',
    ];
    for (const doc of documents) {
      const r = await gqlFrom(s.url, '127.0.0.1', doc, {}, auth);
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'SECOND_FACTOR_REQUIRED', doc);
      assert.doesNotMatch(JSON.stringify(r.body.data ?? null), /recoveryCodesRemaining":\d/);
    }
  });

  test('anonymous callers get UNAUTHENTICATED and the wrong role FORBIDDEN', async () => {
    const anon = await s.gql('{ me { email } }');
    assert.equal(anon.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const r = await gqlFrom(s.url, '127.0.0.1', '{ auditLog(first: 1) { edges { cursor } } }', {}, bearer(tokens.accessToken));
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  });

  test('introspection is not affected by the directives', async () => {
    const r = await s.gql<{ __type: { fields: { name: string }[] } }>('{ __type(name: "User") { fields { name } } }');
    assert.ok(r.body.data?.__type.fields.some((f) => f.name === 'recoveryCodesRemaining'));
  });

  test('refresh rotates the token; presenting a spent one revokes the whole session', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const REFRESH = 'mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken secondFactorVerified } }';
    const r1 = await gqlFrom<{ refreshSession: Tokens }>(s.url, '127.0.0.1', REFRESH, { t: tokens.refreshToken });
    const next = r1.body.data!.refreshSession;
    assert.notEqual(next.refreshToken, tokens.refreshToken);
    assert.equal(next.secondFactorVerified, true);

    const reuse = await gqlFrom(s.url, '127.0.0.1', REFRESH, { t: tokens.refreshToken });
    assert.equal(reuse.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    // The thief's reuse also ends the legitimate holder's session.
    const after = await gqlFrom(s.url, '127.0.0.1', REFRESH, { t: next.refreshToken });
    assert.equal(after.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const me = await gqlFrom(s.url, '127.0.0.1', '{ me { email } }', {}, bearer(next.accessToken));
    assert.equal(me.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  test('sign-out ends the session: its access and refresh tokens stop working', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const out = await gqlFrom(s.url, '127.0.0.1', 'mutation { signOut }', {}, bearer(tokens.accessToken));
    assert.deepEqual(out.body.data, { signOut: true });
    const me = await gqlFrom(s.url, '127.0.0.1', '{ me { email } }', {}, bearer(tokens.accessToken));
    assert.equal(me.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const r = await gqlFrom(s.url, '127.0.0.1', 'mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken } }', { t: tokens.refreshToken });
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  test('an admin creates users and reads the audit log, newest first, page by page', async () => {
    const admin = await aUser(s).withRole('ADMIN').create();
    const tokens = await signInVerified(s, mail, admin);
    const CREATE = 'mutation C($i: CreateUserInput!) { createUser(input: $i) { email role } }';
    const created = await gqlFrom(
      s.url,
      '127.0.0.1',
      CREATE,
      { i: { email: 'analyst@example.test', username: 'analyst', password: 'long enough words', role: 'ANALYST' } },
      bearer(tokens.accessToken),
    );
    assert.deepEqual(created.body.data, { createUser: { email: 'analyst@example.test', role: 'ANALYST' } });
    const taken = await gqlFrom(
      s.url,
      '127.0.0.1',
      CREATE,
      { i: { email: 'ANALYST@example.test', username: 'analyst2', password: 'long enough words' } },
      bearer(tokens.accessToken),
    );
    assert.equal(taken.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(taken.body.errors?.[0]?.extensions?.field, 'email');
    const weak = await gqlFrom(
      s.url,
      '127.0.0.1',
      CREATE,
      { i: { email: 'w@example.test', username: 'weak', password: 'password123' } },
      bearer(tokens.accessToken),
    );
    assert.equal(weak.body.errors?.[0]?.extensions?.field, 'password');

    await signIn(s, { email: admin.email, password: 'wrong password' });
    // Other test files write to the same log at the same time: check order by id, not position.
    const LOG =
      'query L($first: Int, $after: String) { auditLog(first: $first, after: $after) { edges { cursor node { id event email detail } } pageInfo { hasNextPage endCursor } } }';
    type Node = { id: string; event: string; email: string | null; detail: string };
    type Page = { auditLog: { edges: { cursor: string; node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const p1 = (await gqlFrom<Page>(s.url, '127.0.0.1', LOG, { first: 2 }, bearer(tokens.accessToken))).body.data!.auditLog;
    assert.equal(p1.edges.length, 2);
    assert.ok(p1.pageInfo.hasNextPage);
    const p2 = (await gqlFrom<Page>(s.url, '127.0.0.1', LOG, { first: 2, after: p1.pageInfo.endCursor }, bearer(tokens.accessToken))).body.data!.auditLog;
    const ids = [...p1.edges, ...p2.edges].map((e) => Number(e.node.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first, and the second page continues below the first',
    );
    const all: Node[] = [];
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const page: Page['auditLog'] = (await gqlFrom<Page>(s.url, '127.0.0.1', LOG, { first: 200, after }, bearer(tokens.accessToken))).body.data!.auditLog;
      all.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const failed = all.find((n) => n.event === 'SIGN_IN_FAILED' && n.email === admin.email)!;
    assert.equal(JSON.parse(failed.detail).reason, 'WRONG_PASSWORD');
    const createdEvent = all.find((n) => n.event === 'USER_CREATED' && n.email === 'analyst@example.test')!;
    assert.ok(Number(failed.id) > Number(createdEvent.id));
    const events = new Set(all.map((n) => n.event));
    for (const e of [
      'SIGN_IN_SUCCEEDED',
      'SIGN_IN_FAILED',
      'CHALLENGE_ISSUED',
      'CHALLENGE_VERIFIED',
      'CHALLENGE_FAILED',
      'REFRESH_REUSE_DETECTED',
      'SIGNED_OUT',
      'USER_CREATED',
    ]) {
      assert.ok(events.has(e), `${e} is in the audit log`);
    }
    const bad = await gqlFrom(s.url, '127.0.0.1', '{ auditLog(first: 1000) { pageInfo { hasNextPage } } }', {}, bearer(tokens.accessToken));
    assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  test('self sign-up is refused unless SIGNUP_ENABLED', async () => {
    const r = await s.gql('mutation { signUp(email: "me@example.test", username: "me", password: "long enough words") { email } }');
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  });

  test('no code, password or token reaches the log', async () => {
    const user = await aUser(s).create();
    const tokens = await signInVerified(s, mail, user);
    const logged = JSON.stringify(s.logs);
    assert.doesNotMatch(logged, new RegExp(user.password));
    assert.ok(!logged.includes(tokens.accessToken) && !logged.includes(tokens.refreshToken!));
  });
});
