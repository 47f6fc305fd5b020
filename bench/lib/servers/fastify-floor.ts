/**
 * Child process: the floor of HTTP benchmarks. A plain Fastify route that answers every POST
 * to /graphql with a fixed body of the same size as a GraphQL answer, without parsing the
 * query or running anything. What no server on Fastify can go below on this machine: the
 * sockets, the HTTP parser, the JSON body parser, the response write.
 */
import Fastify from 'fastify';
import { serveForParent } from '../child.ts';

const ANSWERS: Record<string, string> = {
  '{ __typename }': '{"data":{"__typename":"Query"}}',
  '{ health { status } }': '{"data":{"health":{"status":"OK"}}}',
};

await serveForParent(async () => {
  const app = Fastify();
  app.post<{ Body: { query?: unknown } }>('/graphql', async (request, reply) => {
    const answer = typeof request.body?.query === 'string' ? ANSWERS[request.body.query] : undefined;
    if (answer === undefined) return reply.code(400).send({ errors: [{ message: 'the floor only knows the benchmark queries' }] });
    return reply.type('application/graphql-response+json; charset=utf-8').send(answer);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, info: { databases: 'none' }, close: () => app.close() };
});
