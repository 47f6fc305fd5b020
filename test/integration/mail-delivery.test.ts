import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { aUser, gqlFrom, signIn, VERIFY, type Tokens } from '../helpers/users.ts';

describe('mail delivery', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('with no SMTP_URL, mail is written as .eml files under DATA_DIR/outbox', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-outbox-'));
    const s = await startTestServer({ DATA_DIR: dir });
    cleanups.push(
      () => rm(dir, { recursive: true, force: true }),
      () => s.close(),
    );
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    assert.equal(res.body.data!.signIn.challenge?.delivery, 'SENT');
    const files = (await readdir(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, 2, 'the code mail and the new-sign-in notice');
    const messages = await Promise.all(files.map((f) => readFile(path.join(dir, 'outbox', f), 'utf8')));
    const codeMail = messages.find((m) => /Subject: Your Strongroom sign-in code/.test(m))!;
    assert.match(codeMail, new RegExp(`To: ${user.email}`));
    const code = /Your code is: (\d{6})/.exec(codeMail)?.[1];
    assert.ok(code);
    const verified = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: res.body.data!.signIn.challenge!.id, code });
    assert.equal(verified.body.data?.verifySignIn.secondFactorVerified, true);
  });

  test('when SMTP is down, signIn still returns the challenge saying delivery failed; once SMTP is back, resend delivers and nothing is lost', async () => {
    let mail: TestMailServer = await startMailServer();
    const port = mail.port;
    const url = mail.url;
    await mail.close();
    const s: TestServer = await startTestServer({ SMTP_URL: url, SMTP_TIMEOUT_MS: '2000' });
    cleanups.push(() => s.close());
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    const challenge = res.body.data!.signIn.challenge!;
    assert.equal(challenge.delivery, 'FAILED');
    assert.ok(s.logs.some((l) => l.msg === 'mail delivery failed'));

    mail = await startMailServer(port);
    cleanups.push(() => mail.close());
    const resent = await gqlFrom<{ resendSignInCode: { delivery: string } }>(
      s.url,
      '127.0.0.1',
      'mutation R($id: ID!) { resendSignInCode(challengeId: $id) { delivery } }',
      { id: challenge.id },
    );
    assert.equal(resent.body.data?.resendSignInCode.delivery, 'SENT');
    await mail.next(user.email, /^New sign-in from/); // the notice that failed goes out too
    const verified = await gqlFrom<{ verifySignIn: Tokens }>(s.url, '127.0.0.1', VERIFY, { challengeId: challenge.id, code: await mail.code(user.email) });
    assert.equal(verified.body.data?.verifySignIn.secondFactorVerified, true);
  });

  test('behind a proxy named in TRUST_PROXY, the client IP comes from X-Forwarded-For', async () => {
    const mail = await startMailServer();
    cleanups.push(() => mail.close());
    const s = await startTestServer({ SMTP_URL: mail.url, TRUST_PROXY: '127.0.0.1' });
    cleanups.push(() => s.close());
    const user = await aUser(s).create();
    await gqlFrom(
      s.url,
      '127.0.0.1',
      'mutation S($e: String!, $p: String!) { signIn(email: $e, password: $p, deviceId: "d") { challenge { id } } }',
      { e: user.email, p: user.password },
      { 'x-forwarded-for': '203.0.113.9' },
    );
    await mail.next(user.email, /^New sign-in from 203\.0\.113\.9,/);
  });

  test('an SMTP server that refuses the credentials counts as a failed delivery', async () => {
    const mail = await startMailServer();
    cleanups.push(() => mail.close());
    const s = await startTestServer({ SMTP_URL: mail.url.replace('mail-secret', 'wrong'), SMTP_TIMEOUT_MS: '2000' });
    cleanups.push(() => s.close());
    const user = await aUser(s).create();
    const res = await signIn(s, user);
    assert.equal(res.body.data!.signIn.challenge?.delivery, 'FAILED');
    assert.equal(mail.received.length, 0);
    assert.doesNotMatch(JSON.stringify(s.logs), /mail-secret|wrong@/);
  });
});
