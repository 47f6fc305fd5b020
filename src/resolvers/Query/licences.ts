import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.licences — analysts and admins; see schema/licences.graphql. */
export const licences: QueryResolvers['licences'] = async (_parent, { filter, first, after }, { caller, services }) => {
  const page = await services.licences.list(caller, {
    filter: filter && { ...filter, expiresBefore: filter.expiresBefore == null ? filter.expiresBefore : new Date(filter.expiresBefore) },
    first: first ?? 20,
    after,
  });
  return { edges: [...page.edges], pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
};
