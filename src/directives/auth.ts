/**
 * `@auth(role:)` and `@twoFactor(maxAge:)` as a schema transform: every object field whose
 * own definition, whose object type, or whose interface's field carries a directive gets
 * its resolver wrapped with the check. The check therefore runs wherever the field is
 * reached — nested, through an interface, an alias or a fragment — because graphql-js
 * resolves each field through its resolver, however the document spells it. Introspection
 * fields (`__schema`, `__type`) are not in the type map and are never wrapped. The checks
 * themselves live in services/auth/permissions.ts, where the services make them too.
 */
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, isObjectType, type GraphQLFieldConfig, type GraphQLSchema } from 'graphql';
import type { Context } from '../context.ts';
import { enforce, RANK, type Requirement } from '../services/auth/permissions.ts';
import type { Role } from '../services/auth/tokens.ts';

export type { Requirement } from '../services/auth/permissions.ts';
export { enforce };

type Annotated = Parameters<typeof getDirective>[1];

function merge(into: Requirement | undefined, schema: GraphQLSchema, node: Annotated | undefined): Requirement | undefined {
  if (!node) return into;
  const auth = getDirective(schema, node, 'auth')?.[0] as { role?: Role } | undefined;
  const twoFactor = getDirective(schema, node, 'twoFactor')?.[0] as { maxAge?: number | null } | undefined;
  if (!auth && !twoFactor) return into;
  const base: Requirement = into ?? { role: 'USER', twoFactor: false, maxAge: undefined };
  const role = auth?.role && RANK[auth.role] > RANK[base.role] ? auth.role : base.role;
  const ages = [base.maxAge, twoFactor?.maxAge ?? undefined].filter((a): a is number => typeof a === 'number');
  return { role, twoFactor: base.twoFactor || twoFactor !== undefined, maxAge: ages.length ? Math.min(...ages) : undefined };
}

/** Applies `@auth` and `@twoFactor` to `schema`. */
export function authDirectiveTransformer(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig: GraphQLFieldConfig<unknown, Context>, fieldName, typeName) => {
      const type = schema.getType(typeName);
      let req = merge(undefined, schema, type);
      req = merge(req, schema, fieldConfig);
      if (isObjectType(type)) {
        for (const iface of type.getInterfaces()) req = merge(req, schema, iface.getFields()[fieldName]);
      }
      if (!req) return fieldConfig;
      const requirement = req;
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      return {
        ...fieldConfig,
        resolve(source, args, context, info) {
          enforce(requirement, context.caller);
          return resolve(source, args, context, info);
        },
      };
    },
  });
}
