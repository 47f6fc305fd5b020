import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.updateLicence — admins; an `expiresAt` given as null clears the expiry, an omitted one keeps it. */
export const updateLicence: MutationResolvers['updateLicence'] = (_parent, { input }, { caller, services }) =>
  services.licences.updateLicence(caller, {
    ...input,
    expiresAt: input.expiresAt === undefined ? undefined : input.expiresAt === null ? null : new Date(input.expiresAt),
  });
