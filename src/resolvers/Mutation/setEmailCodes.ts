import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.setEmailCodes — `@twoFactor(maxAge: 900)`, with the strongest factor; see schema/auth.graphql. */
export const setEmailCodes: MutationResolvers['setEmailCodes'] = (_parent, { enabled }, { services, caller, ip }) =>
  services.auth.setEmailCodes(caller, enabled, ip);
