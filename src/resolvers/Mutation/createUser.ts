import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.createUser — admins after the second step; see schema/auth.graphql. */
export const createUser: MutationResolvers['createUser'] = (_parent, { input }, { services, caller, ip }) =>
  services.auth.createUser(caller, { email: input.email, username: input.username, password: input.password, role: input.role ?? 'USER' }, ip);
