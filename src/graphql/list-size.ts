/**
 * How many times a field's selection is assumed to run, for the cost limit: the field's
 * `first`/`last` (pagination sizes what is under it, a connection's `edges` included), or the
 * default list size for any other list. Worked out from the document alone, before variables
 * are known, since the figure is kept with the cached document.
 */
import { getNullableType, isListType, Kind, type ArgumentNode, type GraphQLField, type OperationDefinitionNode } from 'graphql';

/** Arguments that say how long a field's list is. */
const SLICING_ARGUMENTS: ReadonlySet<string> = new Set(['first', 'last']);

export interface ListSize {
  /** Times the selection runs when nothing around the field has sized it. */
  readonly unsized: number;
  /** Times it runs when the field around it took `first`/`last` (a connection's `edges`: 1, the parent counted it). */
  readonly sized: number;
  /** Whether this field takes `first`/`last`, so that the lists directly under it are sized by it. */
  readonly slices: boolean;
}

const ONE: ListSize = Object.freeze({ unsized: 1, sized: 1, slices: false });

/**
 * What each variable of a document stands for as a list size: its default when that is an
 * integer, else `defaultListSize`; the largest over the operations that declare it (a fragment
 * is measured once for all of them).
 */
export function variableSizes(operations: readonly OperationDefinitionNode[], defaultListSize: number): ReadonlyMap<string, number> {
  const sizes = new Map<string, number>();
  for (const operation of operations) {
    for (const variable of operation.variableDefinitions ?? []) {
      const fallback = variable.defaultValue;
      const size = fallback?.kind === Kind.INT ? Number(fallback.value) : defaultListSize;
      const name = variable.variable.name.value;
      sizes.set(name, Math.max(sizes.get(name) ?? size, size));
    }
  }
  return sizes;
}

/** The integer an argument is given (a literal, or what its variable stands for, NaN for an undeclared one); undefined when absent. */
function intArgument(args: readonly ArgumentNode[] | undefined, name: string, variables: ReadonlyMap<string, number>): number | undefined {
  const value = args?.find((a) => a.name.value === name)?.value;
  if (value?.kind === Kind.INT) return Number(value.value);
  if (value?.kind === Kind.VARIABLE) return variables.get(value.name.value) ?? Number.NaN;
  return undefined;
}

/**
 * The list size of `field` as selected with `args`: the larger of its `first`/`last` (given, or
 * what its variable stands for, see {@link variableSizes}, else the argument's schema default,
 * else `defaultListSize`), or `defaultListSize` for another list field, or 1. An unknown field
 * counts 1.
 */
export function listSize(
  field: GraphQLField<unknown, unknown> | undefined,
  args: readonly ArgumentNode[] | undefined,
  variables: ReadonlyMap<string, number>,
  defaultListSize: number,
): ListSize {
  if (!field) return ONE;
  let size: number | undefined;
  for (const arg of field.args) {
    if (!SLICING_ARGUMENTS.has(arg.name)) continue;
    let n = intArgument(args, arg.name, variables);
    if (n === undefined) n = typeof arg.defaultValue === 'number' ? arg.defaultValue : Number.NaN;
    if (Number.isNaN(n)) n = defaultListSize;
    size = Math.max(size ?? 0, n);
  }
  if (size !== undefined) return { unsized: size, sized: size, slices: true };
  if (isListType(getNullableType(field.type))) return { unsized: defaultListSize, sized: 1, slices: false };
  return ONE;
}
