/**
 * One pass over a GraphQL document that measures each of its operations: depth, aliases,
 * directives, fragment spreads, repeated fields, list-size-aware cost and the `@cost` weight of
 * heavy fields. It runs before graphql-js validates the document (src/graphql/limits.ts) and
 * again, cached per document, for admission control (src/directives/cost.ts).
 *
 * Linear in the size of the document, whatever its shape:
 * - each fragment is walked once: its figures are kept by name and added at every spread, never
 *   walked again (a chain of fragments that each spread the next twice costs its length, not
 *   2^length); a fragment that spreads itself, directly or not, counts as empty here (graphql-js
 *   refuses the cycle right after);
 * - figures only grow as the walk goes up, so the walk stops at the first one over its limit;
 * - every node visited and every merged name is a step, and the walk stops after `maxSteps`.
 * Counts past any limit saturate rather than overflow.
 */
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isIntrospectionType,
  isListType,
  isObjectType,
  Kind,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { listSize, variableSizes } from './list-size.ts';

/** The limits a document is measured against. `Infinity` switches one off. */
export interface AnalysisLimits {
  /** Deepest field nesting (introspection subtrees excluded; see `maxIntrospectionLists`). */
  readonly maxDepth: number;
  /** Aliased fields, each fragment counted at every spread. */
  readonly maxAliases: number;
  /** Directives on any one field, fragment, fragment spread, variable or operation. */
  readonly maxDirectives: number;
  /** Fragment spreads, each counted at every use (so a fan-out chain counts 2^length). */
  readonly maxFragmentSpreads: number;
  /** Fields that repeat a response name already selected in the same selection set (fragments merged). */
  readonly maxDuplicateFields: number;
  /** Estimated cost: 1 per field, times the list sizes above it (introspection excluded). */
  readonly maxCost: number;
  /** Size assumed for a list field without a `first`/`last` argument (or one given by a variable without a default). */
  readonly defaultListSize: number;
  /** Inside `__schema`/`__type`: how deep list fields (types, fields, args…) may nest. */
  readonly maxIntrospectionLists: number;
  /** Hard cap on the work of the analysis itself (nodes visited plus names merged). */
  readonly maxSteps: number;
}

/** What can be over a limit: the names clients see in `extensions.limit`. */
export type LimitName = 'depth' | 'aliases' | 'directives' | 'fragmentSpreads' | 'duplicateFields' | 'cost' | 'introspectionLists' | 'analysisSteps';

/** The first limit a document was found over, with the figure reached when the walk stopped (at least that much). */
export interface LimitExceeded {
  readonly limit: LimitName;
  readonly max: number;
  readonly value: number;
  /** Where it was noticed. */
  readonly node: ASTNode | undefined;
}

/** The figures of one operation (fragments expanded). */
export interface OperationFigures {
  readonly depth: number;
  readonly aliases: number;
  readonly fragmentSpreads: number;
  readonly duplicateFields: number;
  readonly cost: number;
  readonly introspectionLists: number;
  /** Sum of the `@cost` weights of the heavy fields selected, times the list sizes above them. */
  readonly heavy: number;
}

export interface DocumentAnalysis {
  /** Figures per operation of the document; complete only when nothing was exceeded. */
  readonly operations: ReadonlyMap<OperationDefinitionNode, OperationFigures>;
  readonly exceeded: LimitExceeded | undefined;
}

export const NO_LIMITS: AnalysisLimits = Object.freeze({
  maxDepth: Infinity,
  maxAliases: Infinity,
  maxDirectives: Infinity,
  maxFragmentSpreads: Infinity,
  maxDuplicateFields: Infinity,
  maxCost: Infinity,
  defaultListSize: 1,
  maxIntrospectionLists: Infinity,
  maxSteps: Infinity,
});

/** Nesting past which the walk stops whatever the limits say (reported as `depth`): it recurses once per level. */
const MAX_NESTING = 500;

/** Counts saturate here: a figure past any limit only needs to stay past it. */
const CEILING = Number.MAX_SAFE_INTEGER;
const add = (a: number, b: number): number => Math.min(a + b, CEILING);
const mul = (a: number, b: number): number => Math.min(a * b, CEILING);

/**
 * Figures of one selection set. Cost-like figures come in two variants, because the size of a
 * list field directly in the set depends on the field around it: `[0]` when nothing sizes it (the
 * default list size applies), `[1]` when the enclosing field took `first`/`last` (a connection's
 * `edges` is as long as its `first`).
 */
interface Figures {
  depth: number;
  lists: number;
  aliases: number;
  spreads: number;
  duplicates: number;
  cost: [number, number];
  heavy: [number, number];
  /** Response names selected at this level (inline fragments and spreads merged in), and how often. */
  keys: Map<string, number>;
}

const empty = (): Figures => ({ depth: 0, lists: 0, aliases: 0, spreads: 0, duplicates: 0, cost: [0, 0], heavy: [0, 0], keys: new Map() });

/** Thrown to unwind the walk at the first limit exceeded. */
class Stop {
  constructor(readonly exceeded: LimitExceeded) {}
}

/**
 * Measures every operation of `document`. `heavyWeights` maps `Type.field` to its `@cost`
 * weight. Stops at the first limit exceeded and says which; with {@link NO_LIMITS} it only
 * measures (still linear).
 */
export function analyseDocument(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: AnalysisLimits,
  heavyWeights: ReadonlyMap<string, number> = new Map(),
): DocumentAnalysis {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operationNodes: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) operationNodes.push(definition);
  }
  const memo = new Map<string, Figures | 'walking'>();
  let steps = 0;
  // Lower bounds of the current operation's totals: every spread or alias node reached from an
  // operation is used at least once by it, so these can stop a walk before the totals are known.
  let spreadNodes = 0;
  let aliasNodes = 0;
  let nesting = 0;
  const variables = variableSizes(operationNodes, limits.defaultListSize);

  const stop = (limit: LimitName, max: number, value: number, node: ASTNode | undefined): never => {
    throw new Stop({ limit, max, value: Math.min(value, CEILING), node });
  };
  const step = (node: ASTNode, n = 1) => {
    steps += n;
    if (steps > limits.maxSteps) stop('analysisSteps', limits.maxSteps, steps, node);
  };
  const directives = (node: ASTNode & { readonly directives?: readonly unknown[] }) => {
    const count = node.directives?.length ?? 0;
    if (count > limits.maxDirectives) stop('directives', limits.maxDirectives, count, node);
  };

  /** Adds `from` (a sibling at the same level: an inline fragment or a spread) into `into`. */
  const merge = (into: Figures, from: Figures, node: ASTNode) => {
    into.depth = Math.max(into.depth, from.depth);
    into.lists = Math.max(into.lists, from.lists);
    into.aliases = add(into.aliases, from.aliases);
    into.spreads = add(into.spreads, from.spreads);
    into.duplicates = add(into.duplicates, from.duplicates);
    for (const v of [0, 1] as const) {
      into.cost[v] = add(into.cost[v], from.cost[v]);
      into.heavy[v] = add(into.heavy[v], from.heavy[v]);
    }
    step(node, from.keys.size);
    for (const [key, n] of from.keys) {
      const before = into.keys.get(key) ?? 0;
      into.keys.set(key, add(before, n));
      into.duplicates = add(into.duplicates, before === 0 ? n - 1 : n);
    }
  };

  /** Figures only grow on the way up, so any set over a limit means its operation is too. */
  const check = (f: Figures, depthAbove: number, node: ASTNode) => {
    const depth = depthAbove + f.depth;
    if (depth > limits.maxDepth) stop('depth', limits.maxDepth, depth, node);
    if (f.lists > limits.maxIntrospectionLists) stop('introspectionLists', limits.maxIntrospectionLists, f.lists, node);
    if (f.aliases > limits.maxAliases) stop('aliases', limits.maxAliases, f.aliases, node);
    if (f.spreads > limits.maxFragmentSpreads) stop('fragmentSpreads', limits.maxFragmentSpreads, f.spreads, node);
    if (f.duplicates > limits.maxDuplicateFields) stop('duplicateFields', limits.maxDuplicateFields, f.duplicates, node);
    // Which variant applies depends on the field around the set; the smaller one is certain.
    const cost = Math.min(f.cost[0], f.cost[1]);
    if (cost > limits.maxCost) stop('cost', limits.maxCost, cost, node);
  };

  const composite = (type: GraphQLNamedType | null | undefined): GraphQLCompositeType | undefined => (type && isCompositeType(type) ? type : undefined);
  const typeNamed = (name: string): GraphQLCompositeType | undefined => composite(schema.getType(name));

  /** `depthAbove`: data fields above this set (introspection fields do not count; a fragment's own walk starts at 0). */
  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined, introspection: boolean, depthAbove: number): Figures => {
    // Counted across spreads too: a fragment is walked from inside the set that first spreads it.
    if (++nesting > MAX_NESTING) stop('depth', Math.min(limits.maxDepth, MAX_NESTING), nesting, set);
    const f = empty();
    const fields = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields() : undefined;
    for (const selection of set.selections) {
      step(selection);
      directives(selection);
      switch (selection.kind) {
        case Kind.FIELD: {
          const name = selection.name.value;
          const key = selection.alias?.value ?? name;
          const seen = f.keys.get(key) ?? 0;
          f.keys.set(key, seen + 1);
          if (seen > 0) f.duplicates = add(f.duplicates, 1);
          if (selection.alias) {
            f.aliases = add(f.aliases, 1);
            if (++aliasNodes > limits.maxAliases) stop('aliases', limits.maxAliases, aliasNodes, selection);
          }
          if (name === '__typename') {
            if (!introspection) {
              f.cost = [add(f.cost[0], 1), add(f.cost[1], 1)];
              f.depth = Math.max(f.depth, 1);
            }
            break;
          }
          // __schema and __type are not among the query type's fields: graphql-js adds them there.
          const meta = (name === '__schema' || name === '__type') && parent !== undefined && parent === schema.getQueryType();
          const field = meta ? undefined : fields?.[name];
          const child = meta ? typeNamed(name === '__schema' ? '__Schema' : '__Type') : composite(field && getNamedType(field.type));
          const inside = introspection || meta;
          const m = listSize(field, selection.arguments, variables, limits.defaultListSize);
          const sub = selection.selectionSet ? walk(selection.selectionSet, child, inside, introspection ? depthAbove : depthAbove + 1) : empty();
          const subCost = sub.cost[m.slices ? 1 : 0];
          const subHeavy = sub.heavy[m.slices ? 1 : 0];
          f.depth = Math.max(f.depth, introspection ? 0 : meta ? 1 : 1 + sub.depth);
          f.lists = Math.max(f.lists, (introspection && field && isListType(getNullableType(field.type)) ? 1 : 0) + sub.lists);
          f.aliases = add(f.aliases, sub.aliases);
          f.spreads = add(f.spreads, sub.spreads);
          f.duplicates = add(f.duplicates, sub.duplicates);
          if (!inside) {
            const weight = parent ? (heavyWeights.get(`${parent.name}.${name}`) ?? 0) : 0;
            f.cost = [add(f.cost[0], add(1, mul(m.unsized, subCost))), add(f.cost[1], add(1, mul(m.sized, subCost)))];
            f.heavy = [add(f.heavy[0], add(weight, mul(m.unsized, subHeavy))), add(f.heavy[1], add(weight, mul(m.sized, subHeavy)))];
          }
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const typed = selection.typeCondition ? typeNamed(selection.typeCondition.name.value) : parent;
          merge(f, walk(selection.selectionSet, typed, introspection || (typed !== undefined && isIntrospectionType(typed)), depthAbove), selection);
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          if (++spreadNodes > limits.maxFragmentSpreads) stop('fragmentSpreads', limits.maxFragmentSpreads, spreadNodes, selection);
          const spread = fragmentFigures(selection.name.value);
          f.spreads = add(f.spreads, 1);
          if (spread) merge(f, spread, selection);
          break;
        }
      }
      check(f, depthAbove, selection);
    }
    nesting--;
    return f;
  };

  /** A fragment's figures, worked out on its first spread and kept; undefined for an unknown or cyclic one. */
  const fragmentFigures = (name: string): Figures | undefined => {
    const known = memo.get(name);
    if (known === 'walking') return undefined; // a cycle: graphql-js reports it (NoFragmentCyclesRule)
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return undefined; // graphql-js reports it (KnownFragmentNamesRule)
    memo.set(name, 'walking');
    step(fragment);
    directives(fragment);
    const typed = typeNamed(fragment.typeCondition.name.value);
    // A fragment's own figures are relative to where it is spread; `check` sees the absolute depth at each spread.
    const figures = walk(fragment.selectionSet, typed, typed !== undefined && isIntrospectionType(typed), 0);
    memo.set(name, figures);
    return figures;
  };

  const operations = new Map<OperationDefinitionNode, OperationFigures>();
  try {
    for (const operation of operationNodes) {
      spreadNodes = 0;
      aliasNodes = 0;
      step(operation);
      directives(operation);
      for (const variable of operation.variableDefinitions ?? []) {
        step(variable);
        directives(variable);
      }
      const root = composite(schema.getRootType(operation.operation));
      const f = walk(operation.selectionSet, root, false, 0);
      // Nothing encloses the root fields: a list among them has the default size.
      if (f.cost[0] > limits.maxCost) stop('cost', limits.maxCost, f.cost[0], operation);
      operations.set(operation, {
        depth: f.depth,
        aliases: f.aliases,
        fragmentSpreads: f.spreads,
        duplicateFields: f.duplicates,
        cost: f.cost[0],
        introspectionLists: f.lists,
        heavy: f.heavy[0],
      });
    }
  } catch (err) {
    if (err instanceof Stop) return { operations, exceeded: err.exceeded };
    throw err;
  }
  return { operations, exceeded: undefined };
}
