import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.licenceByKey — analysts and admins; the key stays wrapped until the service hashes it. */
export const licenceByKey: QueryResolvers['licenceByKey'] = (_parent, { key }, { caller, services }) => services.licences.byKey(caller, key);
