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
import type { Context } from '../../../src/context.ts';
import { maskError } from '../../../src/errors.ts';
import { minimalApolloPlugins, registerApolloRoute } from '../../../src/http/graphql.ts';
import { buildSchema } from '../../../src/schema.ts';
import { startApolloBenchServer } from '../apollo-server.ts';
import { serveForParent } from '../child.ts';

await serveForParent(() =>
  startApolloBenchServer(async (app, { services, logger }) => {
    const formatError = maskError(logger);
    const apollo = new ApolloServer<Context>({ schema: buildSchema(), csrfPrevention: true, formatError, plugins: minimalApolloPlugins(formatError) });
    await apollo.start();
    registerApolloRoute(app, apollo, { services, logger });
    return apollo;
  }),
);
