import type { MutationResolvers } from '../../generated/graphql.ts';
import { toChallenge } from '../auth-mappers.ts';

/** Mutation.startStepUp — `@auth`; see schema/auth.graphql. */
export const startStepUp: MutationResolvers['startStepUp'] = async (_parent, _args, { services, caller, ip }) =>
  toChallenge(await services.auth.startStepUp(caller, ip));
