import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.signUp — public when SIGNUP_ENABLED; see schema/auth.graphql. */
export const signUp: MutationResolvers['signUp'] = (_parent, args, { services, ip }) =>
  services.auth.signUp({ email: args.email, username: args.username, password: args.password }, ip);
