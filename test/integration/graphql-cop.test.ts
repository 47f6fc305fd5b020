/**
 * graphql-cop against Strongroom in production mode: no finding. Beside it, the same checks
 * against a stock Apollo Server 5 (`new ApolloServer({ schema })` on the stock Fastify
 * integration, with NODE_ENV=production as a deployment would run it), so the README can say
 * what the defaults leave open. The checks, and which graphql-cop version they reproduce, are
 * described in test/helpers/graphql-cop.ts.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApolloServer } from '@apollo/server';
import fastifyApollo from '@as-integrations/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildSchema } from '../../src/schema.ts';
import { COP_CHECKS, runGraphqlCop } from '../helpers/graphql-cop.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('graphql-cop', () => {
  let ours: TestServer;
  let stockApp: FastifyInstance;
  let stockApollo: ApolloServer;
  let stockUrl: string;

  before(async () => {
    ours = await startTestServer({ NODE_ENV: 'production', METRICS_TOKEN: 'cop-test-metrics-token' });
    stockApollo = new ApolloServer({ schema: buildSchema(), nodeEnv: 'production' });
    await stockApollo.start();
    stockApp = Fastify();
    await stockApp.register(fastifyApollo(stockApollo));
    await stockApp.listen({ host: '127.0.0.1', port: 0 });
    stockUrl = `http://127.0.0.1:${(stockApp.server.address() as AddressInfo).port}/graphql`;
  });
  after(async () => {
    await ours?.close();
    await stockApp?.close();
    await stockApollo?.stop();
  });

  test(`finds none of its ${COP_CHECKS} issues against Strongroom in production mode`, async () => {
    assert.deepEqual(await runGraphqlCop(`${ours.url}/graphql`), []);
  });

  test('finds alias overloading, field duplication and directive overloading against a stock Apollo Server 5', async (t) => {
    const findings = await runGraphqlCop(stockUrl);
    t.diagnostic(`stock Apollo: ${findings.length} findings: ${findings.map((f) => `${f.title} (${f.severity})`).join(', ')}`);
    assert.deepEqual(
      findings.map((f) => f.title),
      ['Alias Overloading', 'Field Duplication', 'Directive Overloading'],
    );
  });
});
