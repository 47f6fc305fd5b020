import type { LicenceResolvers } from '../../generated/graphql.ts';

/** Licence.key — opened only here, only when selected, for a caller who passed the second step (`@twoFactor`). */
export const key: LicenceResolvers['key'] = (licence, _args, { caller, services }) => services.licences.revealKey(caller, licence);
