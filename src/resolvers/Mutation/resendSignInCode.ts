import type { MutationResolvers } from '../../generated/graphql.ts';
import { toChallenge } from '../auth-mappers.ts';

/** Mutation.resendSignInCode — public, rate-limited per challenge; see schema/auth.graphql. */
export const resendSignInCode: MutationResolvers['resendSignInCode'] = async (_parent, { challengeId }, { services }) =>
  toChallenge(await services.auth.resendSignInCode(challengeId));
