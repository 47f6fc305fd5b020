import type { MutationResolvers } from '../../generated/graphql.ts';

/** Mutation.validateLicence — public, rate-limited per client address; answers once the check's event is committed. */
export const validateLicence: MutationResolvers['validateLicence'] = (_parent, { application, key, source, nonce }, { ip, services }) =>
  services.licences.validate({ application, key, source, nonce, ip });
