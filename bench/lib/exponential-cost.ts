// The baseline of bench/hostile-queries.ts: src/directives/cost.ts as it was before the linear
// analysis (src/graphql/analysis.ts), kept verbatim below this comment. Its `operationCost`
// walks a fragment's selections again at every spread, so a chain of fragments that each spread
// the next twice costs 2^length steps. Only the benchmark runs it, in a worker thread that it
// stops after a time cap. Nothing else may import it.

/**
 * `@cost(weight:)`: which fields hand work to the worker pool, and how much. The table is
 * read from the schema once; an operation's cost is the sum of the weights of the heavy
 * fields it selects, each selection counted once (fragments expanded, `@skip`/`@include`
 * ignored: an upper estimate made before anything runs).
 */
import { getDirective } from '@graphql-tools/utils';
import {
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** `Type.field` → weight, for every field that carries `@cost`. */
export type CostTable = ReadonlyMap<string, number>;

export function costTable(schema: GraphQLSchema): CostTable {
  const table = new Map<string, number>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      const weight = getDirective(schema, field, 'cost')?.[0]?.weight;
      if (typeof weight === 'number' && weight > 0) table.set(`${type.name}.${field.name}`, weight);
    }
  }
  return table;
}

/** The estimated heavy cost of `operation`: 0 when it selects no `@cost` field. */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, table: CostTable): number {
  if (table.size === 0) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === 'FragmentDefinition') fragments.set(definition.name.value, definition);
  }
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;

  const walk = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, seen: ReadonlySet<string>): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      switch (selection.kind) {
        case 'Field': {
          if (!('getFields' in parent)) break; // union: only __typename is selectable directly
          const field = parent.getFields()[selection.name.value];
          if (!field) break;
          cost += table.get(`${parent.name}.${field.name}`) ?? 0;
          const child = getNamedType(field.type);
          if (selection.selectionSet && isCompositeType(child)) cost += walk(selection.selectionSet, child, seen);
          break;
        }
        case 'InlineFragment': {
          const typed = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          if (typed && isCompositeType(typed)) cost += walk(selection.selectionSet, typed, seen);
          break;
        }
        case 'FragmentSpread': {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || seen.has(name)) break; // validation rejects cycles; this only guards
          const typed = schema.getType(fragment.typeCondition.name.value);
          if (typed && isCompositeType(typed)) cost += walk(fragment.selectionSet, typed, new Set([...seen, name]));
          break;
        }
      }
    }
    return cost;
  };
  return walk(operation.selectionSet, root, new Set());
}
