/**
 * Our execution step (src/http/execution.ts) answers exactly as Apollo's own would: the same
 * status, headers and body for successes, coded errors, masked errors, errors carrying
 * `extensions.http`, partial results, null propagation, variables that do not coerce,
 * operations that do not resolve, and every Accept header. Two Apollo servers over one schema
 * and one `formatError`, one with the plugin, one without, are asked the same things.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { executionPlugin } from '../../src/http/execution.ts';

const schema = makeExecutableSchema({
  typeDefs: /* GraphQL */ `
    type Item {
      id: Int!
      name: String!
    }
    type Query {
      ok: String
      coded(code: String!): String
      plain: String
      strictPlain: String!
      withHttp: String
      items: [Item]
      needsInt(n: Int!): Int
    }
  `,
  resolvers: {
    Query: {
      ok: () => 'fine',
      coded: (_: unknown, { code }: { code: string }) => {
        throw new GraphQLError(`refused with ${code}`, { extensions: { code, detail: 7 } });
      },
      plain: () => {
        throw new Error('select * from secrets where password = $1');
      },
      strictPlain: () => {
        throw new Error('boom');
      },
      withHttp: () => {
        throw new GraphQLError('busy', { extensions: { code: 'SERVER_BUSY', http: { status: 503, headers: new HeaderMap([['retry-after', '9']]) } } });
      },
      items: () => [{ id: 1, name: 'one' }, { id: 2 }, { id: 3, name: 'three' }],
      needsInt: (_: unknown, { n }: { n: number }) => n,
    },
  },
});

// Both as our server is configured: no stack traces in answers (execution.ts does not add them).
/** Deterministic stand-in for maskError: coded errors pass, anything else is masked. */
const formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
  const original = unwrapResolverError(error);
  if (original instanceof GraphQLError) return { ...formatted, extensions: { ...formatted.extensions, formatted: true } };
  return { message: 'masked', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR', formatted: true } };
};

function counting(): { plugin: ApolloServerPlugin; count: () => number } {
  let n = 0;
  return {
    plugin: {
      async requestDidStart() {
        return {
          async executionDidStart() {
            n++;
          },
        };
      },
    },
    count: () => n,
  };
}

const apolloOwn = counting();
const ours = counting();
const servers = {
  apollo: new ApolloServer({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginCacheControlDisabled(), apolloOwn.plugin],
  }),
  ours: new ApolloServer({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginCacheControlDisabled(), ours.plugin, executionPlugin(formatError)],
  }),
};

interface Asked {
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
  readonly accept?: string;
}

async function ask(server: ApolloServer, { query, variables, operationName, accept }: Asked) {
  const headers = new HeaderMap([['content-type', 'application/json']]);
  if (accept !== undefined) headers.set('accept', accept);
  const response = await server.executeHTTPGraphQLRequest({
    // As it arrives over HTTP: JSON has no undefined members.
    httpGraphQLRequest: { method: 'POST', headers, search: '', body: JSON.parse(JSON.stringify({ query, variables, operationName })) as unknown },
    context: async () => ({}),
  });
  assert.equal(response.body.kind, 'complete');
  return {
    status: response.status ?? 200,
    headers: [...response.headers].sort(([a], [b]) => a.localeCompare(b)),
    body: JSON.parse(response.body.kind === 'complete' ? response.body.string : 'null') as unknown,
  };
}

describe('our execution step answers as Apollo does', () => {
  before(() => Promise.all(Object.values(servers).map((s) => s.start())));
  after(() => Promise.all(Object.values(servers).map((s) => s.stop())));
  // What each case must be answered with (status, and whether data is there), besides being
  // answered the same by both servers.
  const cases: [string, Asked, number, 'data' | 'no data'][] = [
    ['a plain success', { query: '{ ok }' }, 200, 'data'],
    ['a coded error', { query: '{ coded(code: "NOT_FOUND") }' }, 200, 'data'],
    ['an uncoded error, masked by formatError', { query: '{ plain }' }, 200, 'data'],
    ['an error in a non-null field, nulling the whole result', { query: '{ strictPlain }' }, 200, 'data'],
    ['an error carrying extensions.http (status and headers)', { query: '{ withHttp }' }, 503, 'data'],
    ['several errors beside data', { query: '{ a: ok b: plain c: coded(code: "FORBIDDEN") d: withHttp }' }, 503, 'data'],
    ['a partial list (one item fails a non-null field)', { query: '{ items { id name } }' }, 200, 'data'],
    ['variables that do not coerce', { query: 'query Q($n: Int!) { needsInt(n: $n) }', variables: { n: 'seven' } }, 400, 'no data'],
    ['a missing required variable', { query: 'query Q($n: Int!) { needsInt(n: $n) }' }, 400, 'no data'],
    ['good variables', { query: 'query Q($n: Int!) { needsInt(n: $n) }', variables: { n: 7 } }, 200, 'data'],
    ['two operations and no operationName', { query: 'query A { ok } query B { ok }' }, 400, 'no data'],
    ['an operationName that names none of them', { query: 'query A { ok }', operationName: 'C' }, 400, 'no data'],
    ['an operationName that picks one', { query: 'query A { ok } query B { plain }', operationName: 'B' }, 200, 'data'],
    ['a validation error', { query: '{ nope }' }, 400, 'no data'],
    ['a syntax error', { query: '{ ok' }, 400, 'no data'],
  ];
  for (const [what, asked, status, data] of cases) {
    test(what, async () => {
      const answer = await ask(servers.ours, asked);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal('data' in (answer.body as object), data === 'data', JSON.stringify(answer.body));
      assert.deepEqual(answer, await ask(servers.apollo, asked));
    });
  }

  test('the same content type for every Accept header, and a refusal where none is acceptable', async () => {
    const accepts = [
      undefined,
      'application/json',
      'application/graphql-response+json',
      'application/graphql-response+json, application/json',
      'application/json;q=0.5, application/graphql-response+json',
      '*/*',
      'application/*',
      'text/html',
      'text/html, application/json;q=0.1',
    ];
    for (const accept of accepts) {
      for (const query of ['{ ok }', '{ plain }', '{ nope }']) {
        const [a, b] = [await ask(servers.ours, { query, accept }), await ask(servers.apollo, { query, accept })];
        assert.deepEqual(a, b, `Accept: ${accept}, ${query}`);
      }
    }
    const refused = await ask(servers.ours, { query: '{ ok }', accept: 'text/html' });
    assert.ok(refused.status >= 400 && !('data' in (refused.body as object)), 'refused, nothing executed');
  });

  test('successful operations really went through our step, not Apollo’s', async () => {
    const [before, beforeApollo] = [ours.count(), apolloOwn.count()];
    assert.equal((await ask(servers.ours, { query: '{ ok }' })).status, 200);
    assert.equal((await ask(servers.apollo, { query: '{ ok }' })).status, 200);
    assert.equal(ours.count(), before, "Apollo's execution step (executionDidStart) did not run");
    assert.equal(apolloOwn.count(), beforeApollo + 1);
  });
});
