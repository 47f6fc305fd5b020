/**
 * `@cost(weight:)`: which fields hand work to the worker pool, and how much. The table is
 * read from the schema once; an operation's heavy cost is the sum of the weights of the heavy
 * fields it selects, each selection counted (fragments expanded at every spread, a field
 * inside a list counted once per assumed item, `@skip`/`@include` ignored): an upper estimate
 * made before anything runs. The walk is src/graphql/analysis.ts: linear in the document, each
 * fragment worked out once however often it is spread.
 */
import { getDirective } from '@graphql-tools/utils';
import { isInterfaceType, isObjectType, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { analyseDocument, NO_LIMITS } from '../graphql/analysis.ts';

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

/**
 * The estimated heavy cost of each operation of `document`: 0 for one that selects no `@cost`
 * field. A field under `first`/`last` counts that many times; a list without them counts as one
 * item (admission weighs tasks, not the default list size of the GraphQL cost limit). Meant
 * for documents that passed the GraphQL limits, so its walk is already small.
 */
export function documentCosts(schema: GraphQLSchema, document: DocumentNode, table: CostTable): ReadonlyMap<OperationDefinitionNode, number> {
  const costs = new Map<OperationDefinitionNode, number>();
  if (table.size === 0) return costs;
  const { operations } = analyseDocument(schema, document, NO_LIMITS, table);
  for (const [operation, figures] of operations) costs.set(operation, figures.heavy);
  return costs;
}

/** The estimated heavy cost of `operation`: 0 when it selects no `@cost` field. */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, table: CostTable): number {
  return documentCosts(schema, document, table).get(operation) ?? 0;
}
