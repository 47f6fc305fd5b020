import type { UserResolvers } from '../../generated/graphql.ts';

/** User.recoveryCodesRemaining — `@twoFactor`; the user's own, or an admin's look; see schema/auth.graphql. */
export const recoveryCodesRemaining: UserResolvers['recoveryCodesRemaining'] = (user, _args, { services, caller }) =>
  services.auth.recoveryCodesLeft(caller, user.id);
