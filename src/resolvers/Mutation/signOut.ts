import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.signOut — `@auth`; see schema/auth.graphql. */
export const signOut: MutationResolvers['signOut'] = async (_parent, _args, { services, caller, ip }) => {
  await services.auth.signOut(caller, ip);
  return true;
};
