import type { UserResolvers } from '../../generated/graphql.ts';

/** User.recoveryCodesRemaining — `@twoFactor`; see schema/auth.graphql. */
export const recoveryCodesRemaining: UserResolvers['recoveryCodesRemaining'] = (user, _args, { services }) => services.auth.recoveryCodesLeft(user.id);
