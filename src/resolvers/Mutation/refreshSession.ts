import type { MutationResolvers } from '../../generated/graphql.ts';
import { toAuthTokens } from '../auth-mappers.ts';

/** Mutation.refreshSession — public (the refresh token is the credential); see schema/auth.graphql. */
export const refreshSession: MutationResolvers['refreshSession'] = async (_parent, { refreshToken }, { services, ip }) =>
  toAuthTokens(await services.auth.refreshSession(refreshToken, ip));
