import type { QueryResolvers } from '../../generated/graphql.ts';

/**
 * Query.me — `@auth`; see schema/auth.graphql. Loaded once per request however many times the
 * operation selects `me` (aliases, fragments, a batch): one auth-database query, not one each.
 */
export const me: QueryResolvers['me'] = (_parent, _args, context) => context.once('me', () => context.services.auth.me(context.caller));
