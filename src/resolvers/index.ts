/** The resolver map. One file per schema field under Query/, Mutation/ and type folders. */
import type { Resolvers } from '../generated/graphql.ts';
import { health } from './Query/health.ts';
import { systemSelfTest } from './Query/systemSelfTest.ts';

export const resolvers: Resolvers = {
  Query: { health, systemSelfTest },
};
