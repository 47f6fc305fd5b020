import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.me — `@auth`; see schema/auth.graphql. */
export const me: QueryResolvers['me'] = (_parent, _args, { services, caller }) => services.auth.me(caller);
