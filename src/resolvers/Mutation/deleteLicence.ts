import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.deleteLicence — admins with a second step at most 300 s old; see schema/licences.graphql. */
export const deleteLicence: MutationResolvers['deleteLicence'] = (_parent, { input }, { caller, services }) => services.licences.deleteLicence(caller, input);
