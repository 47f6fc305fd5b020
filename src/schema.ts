/** Builds the executable schema from schema/*.graphql and the resolver map. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { authDirectiveTransformer } from './directives/auth.ts';
import { resolvers } from './resolvers/index.ts';

const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema');

/** The SDL files, in a stable order. */
export function loadTypeDefs(): string[] {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(SCHEMA_DIR, f), 'utf8'));
}

/** The executable schema with every directive transform applied. */
export function buildSchema(): GraphQLSchema {
  let schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as never });
  schema = authDirectiveTransformer(schema);
  return schema;
}
