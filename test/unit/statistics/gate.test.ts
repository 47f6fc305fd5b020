import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StrongroomError } from '../../../src/errors.ts';
import { createGate } from '../../../src/services/statistics/gate.ts';

const code = (err: unknown) => (err instanceof StrongroomError ? err.code : err);
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('the aggregation gate', () => {
  test('runs at most `slots` jobs at once and the others in the order they came', async () => {
    const gate = createGate(2, 10);
    const order: number[] = [];
    const blockers = [deferred(), deferred()];
    let running = 0;
    let most = 0;
    const job = (n: number, wait?: Promise<void>) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(n);
      await wait;
      running--;
      return n;
    };
    const all = [gate.run(job(1, blockers[0]!.promise)), gate.run(job(2, blockers[1]!.promise)), gate.run(job(3)), gate.run(job(4))];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [1, 2], 'the third waits for a slot');
    blockers[1]!.resolve();
    blockers[0]!.resolve();
    assert.deepEqual(await Promise.all(all), [1, 2, 3, 4]);
    assert.deepEqual(order, [1, 2, 3, 4]);
    assert.equal(most, 2);
  });

  test('refuses one more than the waiting line holds with SERVER_BUSY, at once', async () => {
    const gate = createGate(1, 1);
    const blocker = deferred();
    const first = gate.run(() => blocker.promise);
    const second = gate.run(async () => 'second');
    await assert.rejects(
      gate.run(async () => 'third'),
      (err: unknown) => code(err) === 'SERVER_BUSY' && Number((err as StrongroomError).extensions.retryAfter) >= 1,
    );
    blocker.resolve();
    await first;
    assert.equal(await second, 'second');
  });

  test('a waiter whose client goes away leaves the line with CANCELLED and never runs', async () => {
    const gate = createGate(1, 5);
    const blocker = deferred();
    const first = gate.run(() => blocker.promise);
    const client = new AbortController();
    let ran = false;
    const waiting = gate.run(async () => {
      ran = true;
    }, client.signal);
    client.abort();
    await assert.rejects(waiting, (err: unknown) => code(err) === 'CANCELLED');
    blocker.resolve();
    await first;
    assert.equal(await gate.run(async () => 'next'), 'next');
    assert.equal(ran, false);
    await assert.rejects(
      gate.run(async () => 'late', AbortSignal.abort()),
      (err: unknown) => code(err) === 'CANCELLED',
    );
  });
});
