import type { QueryResolvers } from '../../generated/graphql.ts';

/**
 * Query.weeklyStatistics — analysts and admins (`@auth(role: ANALYST)`, and the service checks
 * again); see schema/statistics.graphql. The service's answer is already the schema's shape.
 * Follows the client: the shaping on the worker pool stops if they go away.
 */
export const weeklyStatistics: QueryResolvers['weeklyStatistics'] = (_parent, { from, to, applications, sources, timeZone }, { caller, services, signal }) =>
  services.statistics.weekly(caller, { from, to, applications, sources, timeZone }, { signal });
