import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchema, getIntrospectionQuery, parse } from 'graphql';
import { analyseDocument, NO_LIMITS, type AnalysisLimits, type OperationFigures } from '../../src/graphql/analysis.ts';

/** A schema with what Strongroom's lacks so far: a union, an interface, a recursive type and a connection. */
const schema = buildSchema(`
  type Query {
    node(id: ID!): Node
    search(text: String!): [Result!]!
    folder: Folder
    items(first: Int = 20, after: String): ItemConnection!
    tags: [String!]!
    heavy: Int
  }
  interface Node { id: ID! }
  type Folder implements Node { id: ID! name: String parent: Folder children: [Folder!]! }
  type Item implements Node { id: ID! title: String }
  union Result = Folder | Item
  type ItemConnection { edges: [ItemEdge!]! total: Int }
  type ItemEdge { cursor: String node: Item }
`);

const measure = (source: string, limits: Partial<AnalysisLimits> = {}, weights: ReadonlyMap<string, number> = new Map()) =>
  analyseDocument(schema, parse(source, { noLocation: true }), { ...NO_LIMITS, defaultListSize: 10, ...limits }, weights);

function figures(source: string, limits: Partial<AnalysisLimits> = {}, weights?: ReadonlyMap<string, number>): OperationFigures {
  const result = measure(source, limits, weights);
  assert.equal(result.exceeded, undefined, `unexpectedly over ${result.exceeded?.limit}`);
  return [...result.operations.values()][0]!;
}

/** A chain of `length` fragments, each spreading the next `fanOut` times: 2^(length-1) uses of the last. */
function fanOutChain(length: number, fanOut = 2, leaf = '__typename'): string {
  const spreads = (i: number) => Array.from({ length: fanOut }, () => `...F${i + 1}`).join(' ');
  const fragments = Array.from({ length }, (_, i) => `fragment F${i} on Query { ${i === length - 1 ? leaf : spreads(i)} }`);
  return `query { ...F0 } ${fragments.join(' ')}`;
}

describe('document analysis', () => {
  test('counts depth, aliases, spreads and repeated fields, fragments expanded at every use', () => {
    const f = figures(`
      query { a: folder { ...Names } b: folder { ...Names children { name } } folder { id } folder { name } }
      fragment Names on Folder { x: name y: name parent { name } }`);
    assert.equal(f.depth, 3);
    assert.equal(f.aliases, 2 + 2 * 2);
    assert.equal(f.fragmentSpreads, 2);
    assert.equal(f.duplicateFields, 1, 'folder is selected twice under the same name');
  });

  test('fields merged from inline fragments and spreads count as repeats of the set they land in', () => {
    const f = figures('query { folder { id ... on Folder { id } ...Id ...Id } } fragment Id on Folder { id }');
    assert.equal(f.duplicateFields, 3);
  });

  test('a fragment fan-out chain is measured in time linear in its length', () => {
    for (const length of [20, 24, 40, 400]) {
      const started = performance.now();
      const f = figures(fanOutChain(length));
      const ms = performance.now() - started;
      assert.equal(f.fragmentSpreads, Math.min(2 ** length - 1, Number.MAX_SAFE_INTEGER), `length ${length}`);
      assert.ok(ms < 200, `length ${length} took ${ms} ms`);
    }
  });

  test('stops at the first limit exceeded and says which, with the figure reached', () => {
    const over = measure(fanOutChain(40), { maxFragmentSpreads: 50 });
    assert.equal(over.exceeded?.limit, 'fragmentSpreads');
    assert.equal(over.exceeded?.max, 50);
    assert.ok(over.exceeded!.value > 50);
    assert.equal(measure('{ a: tags b: tags }', { maxAliases: 1 }).exceeded?.limit, 'aliases');
    assert.equal(measure('{ folder { parent { parent { id } } } }', { maxDepth: 3 }).exceeded?.limit, 'depth');
    assert.equal(measure('{ tags @a @b @c }', { maxDirectives: 2 }).exceeded?.limit, 'directives');
    assert.equal(measure('query Q @a @b @c { tags }', { maxDirectives: 2 }).exceeded?.limit, 'directives');
    assert.equal(measure('{ tags tags tags }', { maxDuplicateFields: 1 }).exceeded?.limit, 'duplicateFields');
    assert.equal(measure('{ folder { children { id } } }', { maxCost: 10 }).exceeded?.limit, 'cost');
    assert.equal(measure('{ folder { parent { id } } }', { maxSteps: 3 }).exceeded?.limit, 'analysisSteps');
  });

  test('just at each limit passes', () => {
    assert.equal(measure('{ a: tags }', { maxAliases: 1 }).exceeded, undefined);
    assert.equal(measure('{ folder { parent { id } } }', { maxDepth: 3 }).exceeded, undefined);
    assert.equal(measure('{ tags @a @b }', { maxDirectives: 2 }).exceeded, undefined);
    assert.equal(measure('{ tags tags }', { maxDuplicateFields: 1 }).exceeded, undefined);
  });

  test('every operation of a document is measured: graphql-js validates them all', () => {
    const result = measure('query Small { tags } query Big { a: tags b: tags }', { maxAliases: 1 });
    assert.equal(result.exceeded?.limit, 'aliases');
  });

  test('cost: 1 per field, first/last multiply what is under them, other lists take the default size', () => {
    assert.equal(figures('{ tags }').cost, 1, 'a list of scalars is one field');
    assert.equal(figures('{ folder { children { id name } } }').cost, 1 + 1 + 10 * 2);
    assert.equal(figures('{ items(first: 3) { edges { node { id } } total } }').cost, 1 + 3 * (3 + 1), 'edges is as long as first');
    assert.equal(figures('{ items { edges { cursor } } }').cost, 1 + 20 * 2, "the argument's default applies when it is absent");
    assert.equal(figures('query ($n: Int = 7) { items(first: $n) { total } }').cost, 1 + 7);
    assert.equal(figures('query ($n: Int) { items(first: $n) { total } }').cost, 1 + 10, 'a variable without default: the default list size');
    const shared = 'query A($n: Int = 7) { ...F } query B($n: Int = 30) { ...F } fragment F on Query { items(first: $n) { total } }';
    assert.equal(figures(shared).cost, 1 + 30, 'a fragment measured once for two operations takes the larger default');
  });

  test('introspection is exempt from depth and cost, and its lists may only nest so deep', () => {
    const standard = figures(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }), {
      maxDepth: 3,
      maxCost: 1,
      maxIntrospectionLists: 3,
    });
    assert.equal(standard.cost, 0);
    assert.equal(standard.introspectionLists, 3);
    const circular = measure('{ __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }', {
      maxIntrospectionLists: 3,
    });
    assert.equal(circular.exceeded?.limit, 'introspectionLists');
    assert.equal(figures('{ __type(name: "Query") { ofType { ofType { name } } } }').depth, 1);
  });

  test('inline fragments on unions and interfaces are measured on the type they name', () => {
    const f = figures(
      '{ search(text: "x") { ... on Folder { children { id } } ... on Item { title } } node(id: 1) { id ... on Folder { parent { parent { id } } } } }',
      {},
      new Map([['Folder.children', 1]]),
    );
    assert.equal(f.depth, 4);
    assert.equal(f.heavy, 10, 'a heavy field counts once per assumed item of the lists above it');
  });

  test('a fragment that spreads itself counts as empty and does not loop', () => {
    const f = figures('query { ...A } fragment A on Query { tags ...B } fragment B on Query { ...A }');
    assert.equal(f.fragmentSpreads, 3);
  });

  test('unknown fields and fragments are measured as far as they go (validation reports them)', () => {
    assert.equal(measure('{ nope { deeper { still } } }', { maxDepth: 2 }).exceeded?.limit, 'depth');
    assert.equal(figures('{ ...Missing tags }').fragmentSpreads, 1);
  });

  test('nesting is bounded whatever the limits, so the walk cannot exhaust the stack', () => {
    const deep = `{ ${'folder { '.repeat(600)}id${' }'.repeat(600)} }`;
    const result = analyseDocument(schema, parse(deep, { noLocation: true }), NO_LIMITS);
    assert.equal(result.exceeded?.limit, 'depth');
  });
});
