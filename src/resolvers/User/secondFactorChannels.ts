import type { UserResolvers } from '../../generated/graphql.ts';

/** User.secondFactorChannels — `@twoFactor`; the user's own, or an admin's look; see schema/auth.graphql. */
export const secondFactorChannels: UserResolvers['secondFactorChannels'] = (user, _args, { services, caller }) =>
  services.auth.secondFactorChannels(caller, user.id);
