import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.licence — analysts and admins; see schema/licences.graphql. */
export const licence: QueryResolvers['licence'] = (_parent, { id }, { caller, services }) => services.licences.byId(caller, id);
