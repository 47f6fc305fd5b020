import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.licenceSummary — analysts and admins; see schema/statistics.graphql. */
export const licenceSummary: QueryResolvers['licenceSummary'] = (_parent, { expiringWithinDays }, { caller, services }) =>
  services.statistics.licenceSummary(caller, { expiringWithinDays });
