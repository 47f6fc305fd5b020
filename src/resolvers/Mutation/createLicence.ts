import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.createLicence — admins; see schema/licences.graphql. */
export const createLicence: MutationResolvers['createLicence'] = (_parent, { input }, { caller, services }) =>
  services.licences.createLicence(caller, {
    username: input.username,
    application: input.application,
    uniqueId: input.uniqueId ?? undefined,
    key: input.key,
    active: input.active ?? undefined,
    expiresAt: input.expiresAt == null ? null : new Date(input.expiresAt),
  });
