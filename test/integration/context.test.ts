/**
 * The per-request context over real HTTP: `signal` aborts when the client goes away before
 * the answer is sent, including when a resolver first asks for it after the client has gone,
 * and stays quiet for answered requests.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Context } from '../../src/context.ts';
import { contextFor } from '../../src/http/context.ts';
import { createLogger } from '../../src/logger.ts';
import { ANONYMOUS } from '../../src/services/auth/caller.ts';
import type { Services } from '../../src/services/index.ts';

let app: FastifyInstance;
let port: number;
const seen = new Map<string, { context: Context; closed: Promise<unknown> }>();
// Only the caller lookup is used here (no Authorization header: anonymous).
const services = { auth: { resolveCaller: async () => ANONYMOUS } } as unknown as Services;
const makeContext = contextFor(services, createLogger('silent', new Writable({ write: (_c, _e, done) => done() })));

before(async () => {
  app = Fastify();
  // /wait/:id answers after 10 s unless the client leaves first; the context is kept for the test.
  app.get<{ Params: { id: string } }>('/wait/:id', async (request, reply) => {
    const context = await makeContext(request, reply);
    seen.set(request.params.id, { context, closed: once(reply.raw, 'close') });
    await new Promise((resolve) => setTimeout(resolve, 10_000).unref());
    return 'late';
  });
  app.get<{ Params: { id: string } }>('/now/:id', async (request, reply) => {
    const context = await makeContext(request, reply);
    seen.set(request.params.id, { context, closed: once(reply.raw, 'close') });
    return 'ok';
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

after(() => app.close());

/** Sends GET path and destroys the connection once the server has the request. */
async function leaveEarly(id: string): Promise<{ context: Context; closed: Promise<unknown> }> {
  const req = httpRequest({ host: '127.0.0.1', port, path: `/wait/${id}` });
  req.on('error', () => {});
  req.end();
  const deadline = Date.now() + 10_000;
  while (!seen.has(id)) {
    if (Date.now() > deadline) throw new Error(`the server never saw request ${id}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  req.destroy();
  return seen.get(id)!;
}

test('the signal aborts when the client disconnects mid-request', async () => {
  const { context } = await leaveEarly('a');
  const signal = context.signal; // asked for while the client is still there
  await once(signal, 'abort');
  assert.equal(signal.aborted, true);
  assert.match(String((signal.reason as Error).message), /client disconnected/);
});

test('a signal first asked for after the client left is already aborted', async () => {
  const { context, closed } = await leaveEarly('b');
  await closed;
  assert.equal(context.signal.aborted, true);
});

test('an answered request never aborts its signal, and the context logger is bound to the request', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/now/c`);
  assert.equal(await res.text(), 'ok');
  const { context, closed } = seen.get('c')!;
  await closed;
  assert.equal(context.signal.aborted, false);
  assert.equal(context.log.bindings().requestId, context.requestId);
  assert.equal(context.signal, context.signal, 'the same signal every time');
});

test("Apollo's copy of the context makes neither the signal nor the logger, and shares them once made", async () => {
  const res = await fetch(`http://127.0.0.1:${port}/now/d`);
  assert.equal(await res.text(), 'ok');
  const { context } = seen.get('d')!;
  // What Apollo does with a context before every operation (cloneObject in ApolloServer.js).
  const copy = Object.assign(Object.create(Object.getPrototypeOf(context) as object) as Context, context);
  const lazy = (context as unknown as { lazy: { signal?: AbortSignal; log?: unknown } }).lazy;
  assert.equal(lazy.signal, undefined, 'copying did not make the signal');
  assert.equal(lazy.log, undefined, 'copying did not make the logger');
  assert.equal(copy.requestId, context.requestId);
  assert.equal(copy.signal, context.signal, 'made through the copy, the signal is the one the context has');
  assert.equal(copy.log, context.log);
});
