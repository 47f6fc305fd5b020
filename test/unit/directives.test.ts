import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { graphql } from 'graphql';
import { readFileSync } from 'node:fs';
import { authDirectiveTransformer } from '../../src/directives/auth.ts';
import type { Caller } from '../../src/services/auth/caller.ts';

// The real directive declarations, on a small schema with an interface, a secret type and nesting.
const typeDefs = [
  readFileSync(new URL('../../schema/directives.graphql', import.meta.url), 'utf8'),
  `enum Role { USER ANALYST ADMIN }
   interface Account { id: ID! balance: Int! @twoFactor }
   type Personal implements Account { id: ID! balance: Int! }
   type Vault @twoFactor { combination: String! }
   type Profile { name: String! vault: Vault! account: Account! staff: String! @auth(role: ANALYST) recent: String! @twoFactor(maxAge: 60) }
   type Query { public: String! profile: Profile! @auth accounts: [Account!]! @auth }`,
];

const schema = authDirectiveTransformer(
  makeExecutableSchema({
    typeDefs,
    resolvers: {
      Account: { __resolveType: () => 'Personal' },
      Query: {
        public: () => 'hello',
        profile: () => ({ name: 'Ada', vault: { combination: '1-2-3' }, account: { id: 'a', balance: 10 }, staff: 's', recent: 'r' }),
        accounts: () => [{ id: 'a', balance: 10 }],
      },
    },
  }),
);

const at = new Date('2024-05-01T12:00:00Z');
const user = (over: Partial<Extract<Caller, { kind: 'user' }>> = {}): Caller => ({
  kind: 'user',
  userId: 'u',
  role: 'USER',
  sessionId: 's',
  secondFactorAt: null,
  secondFactorChannel: null,
  checkedAt: at,
  ...over,
});

async function run(source: string, caller: Caller) {
  const r = await graphql({ schema, source, contextValue: { caller } });
  return { data: JSON.parse(JSON.stringify(r.data ?? null)) as unknown, codes: (r.errors ?? []).map((e) => e.extensions.code), errors: r.errors ?? [] };
}

describe('@auth and @twoFactor', () => {
  test('public fields need nothing; @auth fields need a user', async () => {
    assert.deepEqual((await run('{ public }', { kind: 'anonymous' })).data, { public: 'hello' });
    assert.deepEqual((await run('{ profile { name } }', { kind: 'anonymous' })).codes, ['UNAUTHENTICATED']);
    assert.deepEqual((await run('{ profile { name } }', { kind: 'invalid', reason: 'the token has expired' })).codes, ['UNAUTHENTICATED']);
    assert.deepEqual((await run('{ profile { name } }', user())).data, { profile: { name: 'Ada' } });
  });

  test('a role below the one asked for is FORBIDDEN; a stronger one passes', async () => {
    assert.deepEqual((await run('{ profile { staff } }', user())).codes, ['FORBIDDEN']);
    assert.deepEqual((await run('{ profile { staff } }', user({ role: 'ADMIN' }))).data, { profile: { staff: 's' } });
  });

  test('a type-level @twoFactor guards every field of the type, however it is reached', async () => {
    const docs = [
      '{ profile { vault { combination } } }',
      '{ profile { v: vault { c: combination } } }',
      '{ profile { vault { ...V } } } fragment V on Vault { combination }',
      '{ profile { ... on Profile { vault { ... on Vault { combination } } } } }',
    ];
    for (const doc of docs) assert.deepEqual((await run(doc, user())).codes, ['SECOND_FACTOR_REQUIRED'], doc);
    assert.deepEqual((await run(docs[2]!, user({ secondFactorAt: at }))).data, { profile: { vault: { combination: '1-2-3' } } });
  });

  test('@twoFactor on an interface field guards the implementing type, through lists and inline fragments', async () => {
    assert.deepEqual((await run('{ accounts { id } }', user())).data, { accounts: [{ id: 'a' }] });
    assert.deepEqual((await run('{ accounts { ... on Personal { balance } } }', user())).codes, ['SECOND_FACTOR_REQUIRED']);
    assert.deepEqual((await run('{ profile { account { b: balance } } }', user())).codes, ['SECOND_FACTOR_REQUIRED']);
    assert.deepEqual((await run('{ accounts { balance } }', user({ secondFactorAt: at }))).data, { accounts: [{ balance: 10 }] });
  });

  test('maxAge: a second step older than maxAge seconds is refused with extensions.maxAge', async () => {
    const fresh = user({ secondFactorAt: new Date(at.getTime() - 59_000) });
    const stale = user({ secondFactorAt: new Date(at.getTime() - 61_000) });
    assert.deepEqual((await run('{ profile { recent } }', fresh)).data, { profile: { recent: 'r' } });
    const r = await run('{ profile { recent } }', stale);
    assert.deepEqual(r.codes, ['SECOND_FACTOR_REQUIRED']);
    assert.equal(r.errors[0]!.extensions.maxAge, 60);
  });

  test('introspection is not affected', async () => {
    const r = await run('{ __schema { types { name } } __type(name: "Vault") { fields { name } } }', { kind: 'anonymous' });
    assert.deepEqual(r.codes, []);
    assert.deepEqual((r.data as { __type: unknown }).__type, { fields: [{ name: 'combination' }] });
  });
});
