import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse, type OperationDefinitionNode } from 'graphql';
import { costTable, operationCost } from '../../src/directives/cost.ts';
import { admits } from '../../src/http/admission.ts';
import { buildSchema } from '../../src/schema.ts';

const schema = buildSchema();
const table = costTable(schema);

function cost(source: string, operationName?: string): number {
  const document = parse(source);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition' && (operationName === undefined || d.name?.value === operationName),
  )!;
  return operationCost(schema, document, operation, table);
}

describe('@cost', () => {
  test('the table lists the heavy fields declared in the schema', () => {
    assert.equal(table.get('Query.systemSelfTest'), 1);
    assert.equal(table.get('Query.health'), undefined);
  });

  test('an operation with no heavy field costs nothing', () => {
    assert.equal(cost('{ health { status databases { name } } }'), 0);
  });

  test('each selection of a heavy field counts, through aliases, fragments and inline fragments', () => {
    assert.equal(cost('{ systemSelfTest { digest } }'), 1);
    assert.equal(cost('{ a: systemSelfTest { digest } b: systemSelfTest(iterations: 5) { digest } health { status } }'), 2);
    assert.equal(cost('query Q { ...Heavy ... on Query { systemSelfTest { digest } } } fragment Heavy on Query { systemSelfTest { digest } }'), 2);
  });

  test('only the chosen operation of a document is counted', () => {
    const doc = 'query Light { health { status } } query Heavy { systemSelfTest { digest } }';
    assert.equal(cost(doc, 'Light'), 0);
    assert.equal(cost(doc, 'Heavy'), 1);
  });
});

describe('admission rule', () => {
  test('operations with no heavy field are always admitted', () => {
    assert.equal(admits(0, 1000, 1), true);
  });
  test('a heavy operation is refused when its cost would take the waiting tasks past the mark', () => {
    assert.equal(admits(1, 3, 4), true);
    assert.equal(admits(1, 4, 4), false);
    assert.equal(admits(3, 2, 4), false);
  });
  test('with nothing waiting, even a large operation is admitted, so it is never starved', () => {
    assert.equal(admits(50, 0, 4), true);
  });
});
