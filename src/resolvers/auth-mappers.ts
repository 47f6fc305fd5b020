/** Service results → GraphQL shapes shared by several auth resolvers. */
import type { AuthTokens, SignInChallenge } from '../generated/graphql.ts';
import type { Tokens } from '../services/auth/sessions.ts';
import type { ChallengeView } from '../services/auth/second-step.ts';

export const toAuthTokens = (t: Tokens): AuthTokens => ({
  accessToken: t.accessToken,
  accessTokenExpiresAt: t.accessTokenExpiresAt,
  refreshToken: t.refreshToken,
  secondFactorVerified: t.secondFactorAt !== null,
});

export const toChallenge = (c: ChallengeView): SignInChallenge => ({
  id: c.id,
  reason: c.reason,
  channels: [...c.channels],
  expiresAt: c.expiresAt,
  delivery: c.delivery,
});
