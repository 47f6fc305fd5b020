import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.health — public; see schema/system.graphql. */
export const health: QueryResolvers['health'] = async (_parent, _args, { services }) => {
  const h = await services.system.health();
  return {
    status: h.status,
    version: h.version,
    uptimeSeconds: h.uptimeSeconds,
    databases: h.databases.map((d) => ({ name: d.name === 'data' ? 'DATA' : 'AUTH', reachable: d.reachable, roundTripMs: d.roundTripMs })),
  };
};
