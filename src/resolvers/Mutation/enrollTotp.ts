import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.enrollTotp — `@twoFactor(maxAge: 900)`; see schema/auth.graphql. */
export const enrollTotp: MutationResolvers['enrollTotp'] = (_parent, _args, { services, caller }) => services.auth.enrollTotp(caller);
