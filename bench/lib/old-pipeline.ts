/**
 * Worker thread of bench/hostile-queries.ts: what Strongroom did with a document before any of
 * its resolvers ran, before the GraphQL limits. graphql-js parses it (no token limit) and
 * validates it (graphql-js's rules alone), then the old exponential `@cost` walk
 * (./exponential-cost.ts) measures every operation. Posts the milliseconds of each run; the
 * parent terminates the thread when a run goes past its time cap.
 *
 * workerData: { source: string, runs: number }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kind, parse, specifiedRules, validate } from 'graphql';
import { buildSchema } from '../../src/schema.ts';
import { costTable, operationCost } from './exponential-cost.ts';

const { source, runs } = workerData as { source: string; runs: number };
const schema = buildSchema();
const table = costTable(schema);

for (let run = 0; run < runs; run++) {
  const started = performance.now();
  const document = parse(source);
  validate(schema, document, specifiedRules);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) operationCost(schema, document, definition, table);
  }
  parentPort!.postMessage(performance.now() - started);
}
