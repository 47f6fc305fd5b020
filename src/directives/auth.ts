/**
 * `@auth(role:)` and `@twoFactor(maxAge:)` as a schema transform: every object field whose
 * own definition, whose object type, or whose interface's field carries a directive gets
 * its resolver wrapped with the check. The check therefore runs wherever the field is
 * reached — nested, through an interface, an alias or a fragment — because graphql-js
 * resolves each field through its resolver, however the document spells it. Introspection
 * fields (`__schema`, `__type`) are not in the type map and are never wrapped.
 */
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, isObjectType, type GraphQLFieldConfig, type GraphQLSchema } from 'graphql';
import type { Context } from '../context.ts';
import { ForbiddenError, StrongroomError, UnauthenticatedError } from '../errors.ts';
import type { Caller } from '../services/auth/caller.ts';
import type { Role } from '../services/auth/tokens.ts';

const RANK: Readonly<Record<Role, number>> = { USER: 0, ANALYST: 1, ADMIN: 2 };

/** What a field needs, merged from every place a directive can sit (strictest wins). */
export interface Requirement {
  readonly role: Role;
  readonly twoFactor: boolean;
  /** Seconds since the second step, at most; undefined = any time in this session. */
  readonly maxAge: number | undefined;
}

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

/** Throws the coded error that stops `caller` from reading a field needing `req`. */
export function enforce(req: Requirement, caller: Caller): void {
  if (caller.kind !== 'user') {
    throw new UnauthenticatedError(caller.kind === 'invalid' ? `Sign in again: ${caller.reason}.` : 'Sign in first.');
  }
  if (RANK[caller.role] < RANK[req.role]) throw new ForbiddenError(`This needs the ${req.role} role.`);
  if (!req.twoFactor) return;
  const extensions = req.maxAge === undefined ? {} : { maxAge: req.maxAge };
  if (caller.secondFactorAt === null) {
    throw new StrongroomError('SECOND_FACTOR_REQUIRED', 'Finish the second sign-in step (verifySignIn) first.', extensions);
  }
  if (req.maxAge !== undefined && caller.checkedAt.getTime() - caller.secondFactorAt.getTime() > req.maxAge * 1000) {
    throw new StrongroomError('SECOND_FACTOR_REQUIRED', `This needs a second step within the last ${req.maxAge} seconds; call startStepUp.`, extensions);
  }
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
