/**
 * Child process: the baseline for HTTP benchmarks. A default `new ApolloServer({ schema })`
 * mounted with the stock `fastifyApollo` plugin on a plain `Fastify()`, none of our tuning,
 * but the same SDL, the same resolvers, the same services over the same kind of database and
 * the same context function, so every field does the same work as in our server.
 */
import { ApolloServer } from '@apollo/server';
import fastifyApollo from '@as-integrations/fastify';
import type { Context } from '../../../src/context.ts';
import { contextFor } from '../../../src/http/context.ts';
import { buildSchema } from '../../../src/schema.ts';
import { startApolloBenchServer } from '../apollo-server.ts';
import { serveForParent } from '../child.ts';

await serveForParent(() =>
  startApolloBenchServer(async (app, { services, logger }) => {
    const apollo = new ApolloServer<Context>({ schema: buildSchema() });
    await apollo.start();
    // Stock Apollo has no authentication plugin: the context resolves the caller itself, as ours used to.
    await app.register(fastifyApollo(apollo), { context: contextFor(services, logger, { authenticateUpFront: true }) });
    return apollo;
  }),
);
