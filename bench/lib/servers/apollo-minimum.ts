/**
 * Child process: a reference point for HTTP benchmarks, not a competitor. Apollo Server with
 * the same schema, resolvers, services and context as ours, our handler, our execution step
 * and our content-type cache, and nothing else: no operation log line, no metrics, no
 * admission control, every optional Apollo plugin off. It is what any Apollo-based server
 * costs with all of our per-operation features removed, so the distance from it to ours is
 * what those features cost, and its distance to the default baseline is the most that
 * tuning Apollo can give.
 */
import { ApolloServer } from '@apollo/server';
import Fastify from 'fastify';
import type { Context } from '../../../src/context.ts';
import { maskError } from '../../../src/errors.ts';
import { minimalApolloPlugins, registerApolloRoute } from '../../../src/http/graphql.ts';
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
  const apollo = new ApolloServer<Context>({
    schema: buildSchema(),
    csrfPrevention: true,
    formatError: maskError(logger),
    plugins: minimalApolloPlugins(maskError(logger)),
  });
  await apollo.start();
  const app = Fastify();
  registerApolloRoute(app, apollo, { services, logger });
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
