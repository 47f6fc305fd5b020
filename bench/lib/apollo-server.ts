/**
 * The shared set-up of the Apollo-on-Fastify servers benchmarks compare ours with: the bench
 * configuration, logger, databases, worker pool and services our server would have, a plain
 * `Fastify()`, and a free port on 127.0.0.1. `mount` makes and starts the Apollo server and
 * puts it on the app; everything is closed in reverse order.
 */
import type { ApolloServer } from '@apollo/server';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Context } from '../../src/context.ts';
import type { Logger } from '../../src/logger.ts';
import { createServices, type Services } from '../../src/services/index.ts';
import { openWorkerPool } from '../../src/workers/index.ts';
import type { Served } from './child.ts';
import { openBenchDatabases } from './databases.ts';
import { benchConfig, benchLogger } from './server.ts';

export async function startApolloBenchServer(
  mount: (app: FastifyInstance, deps: { readonly services: Services; readonly logger: Logger }) => Promise<ApolloServer<Context>>,
): Promise<Served> {
  const config = benchConfig();
  const logger = benchLogger(config);
  const databases = await openBenchDatabases(config);
  const pool = openWorkerPool(config, logger);
  const services = createServices({ config, databases, keyring: databases.keyring, logger, pool });
  const app = Fastify();
  const apollo = await mount(app, { services, logger });
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
}
