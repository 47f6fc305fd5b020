import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.systemSelfTest — needs sign-in (`@auth`, enforced before this runs); see schema/system.graphql. Follows the client: it stops if they go away. */
export const systemSelfTest: QueryResolvers['systemSelfTest'] = async (_parent, { iterations }, { services, signal }) => {
  const result = await services.selfTest.run(iterations ?? 100_000, signal);
  return { iterations: result.iterations, digest: result.digest, durationMs: result.durationMs, workerThreadId: result.threadId };
};
