/**
 * Child process: the baseline for HTTP benchmarks. A default `new ApolloServer({ schema })`
 * mounted with the stock `fastifyApollo` plugin on a plain `Fastify()`, none of our tuning,
 * but the same SDL, the same resolvers, the same services over the same kind of database and
 * the same context function, so every field does the same work as in our server.
 */
import { ApolloServer } from '@apollo/server';
import fastifyApollo from '@as-integrations/fastify';
import Fastify from 'fastify';
import type { Context } from '../../../src/context.ts';
import { contextFor } from '../../../src/http/graphql.ts';
import { buildSchema } from '../../../src/schema.ts';
import { createServices } from '../../../src/services/index.ts';
import { openWorkerPool } from '../../../src/workers/index.ts';
import { serveForParent } from '../child.ts';
import { openBenchDatabases } from '../databases.ts';
import { benchConfig, benchLogger } from '../server.ts';

await serveForParent(async () => {
  const config = benchConfig();
  const logger = benchLogger(config);
  const databases = await openBenchDatabases(config);
  const pool = openWorkerPool(config, logger);
  const services = createServices({ config, databases, logger, pool });
  const apollo = new ApolloServer<Context>({ schema: buildSchema() });
  await apollo.start();
  const app = Fastify();
  await app.register(fastifyApollo(apollo), { context: contextFor(services, logger) });
  await app.listen({ host: config.host, port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://${config.host}:${port}`,
    info: { databases: databases.label },
    async close() {
      await app.close();
      await apollo.stop();
      await pool.close();
      await databases.close();
    },
  };
});
