import type { MutationResolvers } from '../../generated/graphql.ts';
import { toAuthTokens, toChallenge } from '../auth-mappers.ts';

/** Mutation.signIn — public, rate-limited; see schema/auth.graphql. */
export const signIn: MutationResolvers['signIn'] = async (_parent, args, { services, ip }) => {
  const outcome = await services.auth.signIn({
    email: args.email,
    password: args.password,
    deviceId: args.deviceId,
    deviceLabel: args.deviceLabel ?? null,
    ip,
  });
  return { tokens: toAuthTokens(outcome.tokens), challenge: outcome.challenge ? toChallenge(outcome.challenge) : null };
};
