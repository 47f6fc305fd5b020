import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { CENSOR, createLogger, REDACTED_KEYS, redactSecrets } from '../../src/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}

test('secret keys are redacted at the top level and in nested objects and arrays', () => {
  const { lines, logger } = capture();
  logger.info(
    {
      password: 'hunter2',
      user: { email: 'a@example.com', token: 'tok-1', sessions: [{ refreshToken: 'ref-1', id: 7 }] },
      req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1', accept: 'text/html' } },
      deep: { a: { b: { licenceKey: 'LK-1' } } },
    },
    'something happened',
  );
  const line = lines[0]!;
  assert.equal(line.password, CENSOR);
  assert.deepEqual(line.user, { email: 'a@example.com', token: CENSOR, sessions: [{ refreshToken: CENSOR, id: 7 }] });
  assert.deepEqual(line.req, { headers: { authorization: CENSOR, cookie: CENSOR, accept: 'text/html' } });
  assert.deepEqual(line.deep, { a: { b: { licenceKey: CENSOR } } });
  assert.doesNotMatch(JSON.stringify(lines), /hunter2|tok-1|ref-1|Bearer abc|sid=1|LK-1/);
});

test('child logger bindings are redacted too', () => {
  const { lines, logger } = capture();
  logger.child({ requestId: 'r1', secret: 's3cr3t' }).info('bound');
  logger.child({ component: 'http' }).child({ token: 't0k3n' }).info('grandchild');
  assert.equal(lines[0]!.requestId, 'r1');
  assert.equal(lines[0]!.secret, CENSOR);
  assert.equal(lines[1]!.component, 'http');
  assert.equal(lines[1]!.token, CENSOR);
  assert.doesNotMatch(JSON.stringify(lines), /s3cr3t|t0k3n/);
});

test('every listed key is redacted', () => {
  const input = Object.fromEntries(REDACTED_KEYS.map((k) => [k, 'value']));
  assert.deepEqual(redactSecrets(input), Object.fromEntries(REDACTED_KEYS.map((k) => [k, CENSOR])));
});

test("redaction copies what it changes and never alters the caller's objects", () => {
  const nested = { code: '123456', keep: true };
  const input = { outer: nested, list: [nested], other: { untouched: 1 } };
  const out = redactSecrets(input);
  assert.deepEqual(nested, { code: '123456', keep: true });
  assert.deepEqual(out, { outer: { code: CENSOR, keep: true }, list: [{ code: CENSOR, keep: true }], other: { untouched: 1 } });
  assert.equal(out.other, input.other, 'objects without secrets are not copied');
  const clean = { a: 1, b: { c: 'x' } };
  assert.equal(redactSecrets(clean), clean);
});
