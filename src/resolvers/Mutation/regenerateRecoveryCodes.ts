import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.regenerateRecoveryCodes — `@twoFactor(maxAge: 900)`, with the strongest factor; see schema/auth.graphql. */
export const regenerateRecoveryCodes: MutationResolvers['regenerateRecoveryCodes'] = (_parent, _args, { services, caller, ip }) =>
  services.auth.regenerateRecoveryCodes(caller, ip);
