import type { MutationResolvers } from '../../generated/graphql.ts';
import { toAuthTokens } from '../auth-mappers.ts';

/** Mutation.verifySignIn — public (the challenge id and code are the credentials); see schema/auth.graphql. */
export const verifySignIn: MutationResolvers['verifySignIn'] = async (_parent, args, { services, ip }) =>
  toAuthTokens(await services.auth.verifySignIn(args.challengeId, args.code, args.rememberDevice ?? true, ip));
