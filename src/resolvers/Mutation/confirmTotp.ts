import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.confirmTotp — `@twoFactor(maxAge: 900)`; see schema/auth.graphql. */
export const confirmTotp: MutationResolvers['confirmTotp'] = (_parent, { code }, { services, caller, ip }) => services.auth.confirmTotp(caller, code, ip);
