import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.deactivateLicence — admins; see schema/licences.graphql. */
export const deactivateLicence: MutationResolvers['deactivateLicence'] = (_parent, { input }, { caller, services }) =>
  services.licences.deactivateLicence(caller, input);
