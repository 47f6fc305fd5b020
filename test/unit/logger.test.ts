import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CENSOR, createLogger, logDestination, REDACTED_KEYS, redactSecrets } from '../../src/logger.ts';
import { captureLogs } from '../helpers/logs.ts';

const capture = () => captureLogs('info');

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

describe('log destination', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const logFile = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strongroom-log-'));
    dirs.push(dir);
    const file = path.join(dir, 'out.log');
    await writeFile(file, '');
    return file;
  };
  const lines = async (file: string) =>
    (await readFile(file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test('unbuffered, each line is in the file as soon as it is logged', async () => {
    const file = await logFile();
    const destination = logDestination({ bufferBytes: 0, flushMs: 1000, dest: file });
    createLogger('info', destination).info('at once');
    assert.deepEqual(
      (await lines(file)).map((l) => l.msg),
      ['at once'],
    );
    (destination as unknown as { end(): void }).end();
  });

  test('buffered, lines wait for the flush interval, then arrive in order', async () => {
    const file = await logFile();
    const destination = logDestination({ bufferBytes: 8000, flushMs: 200, dest: file });
    const logger = createLogger('info', destination);
    logger.info('first');
    logger.info('second');
    await sleep(20);
    assert.deepEqual(await lines(file), [], 'nothing written yet');
    await sleep(600);
    assert.deepEqual(
      (await lines(file)).map((l) => l.msg),
      ['first', 'second'],
    );
    (destination as unknown as { end(): void }).end();
  });

  test('buffered, a full buffer is written without waiting for the interval', async () => {
    const file = await logFile();
    const destination = logDestination({ bufferBytes: 256, flushMs: 60_000, dest: file });
    const logger = createLogger('info', destination);
    for (let i = 0; i < 5; i++) logger.info({ i }, 'filler line to pass the buffer size');
    await sleep(200);
    assert.ok((await lines(file)).length >= 2, 'a full buffer went out long before the 60 s interval');
    (destination as unknown as { end(): void }).end();
  });

  test('buffered, a full buffer is in the file when the logging call returns (the write is synchronous)', async () => {
    const file = await logFile();
    const destination = logDestination({ bufferBytes: 256, flushMs: 60_000, dest: file });
    const logger = createLogger('info', destination);
    for (let i = 0; i < 5; i++) logger.info({ i }, 'filler line to pass the buffer size');
    assert.ok((await lines(file)).length >= 2, 'written before any turn of the event loop');
    (destination as unknown as { end(): void }).end();
  });
});

test('every line carries its time as an ISO 8601 string, in order', async () => {
  const { lines, logger } = capture();
  const before = Date.now();
  for (let i = 0; i < 50; i++) logger.info({ i }, 'tick');
  await new Promise((resolve) => setTimeout(resolve, 5));
  logger.info('later');
  const after = Date.now();
  const times = lines.map((l) => l.time as string);
  for (const t of times) assert.match(t, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const ms = times.map((t) => Date.parse(t));
  assert.ok(
    ms.every((m, i) => m >= before && m <= after && (i === 0 || m >= ms[i - 1]!)),
    'within the run, never going back',
  );
  assert.ok(ms.at(-1)! > ms[0]!, 'a line written later has a later time');
});
