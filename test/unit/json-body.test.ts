import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonNestsDeeperThan } from '../../src/http/json-body.ts';

test('nesting is counted over arrays and objects, and brackets inside strings do not count', () => {
  assert.equal(jsonNestsDeeperThan('{"query":"{ a { b } }","variables":{"input":{"tags":[1,2]}}}', 4), false);
  assert.equal(jsonNestsDeeperThan('{"variables":{"input":{"tags":[[1]]}}}', 4), true);
  assert.equal(jsonNestsDeeperThan('{"query":"[[[[[[ {{{{ \\" [[[["}', 1), false, 'an escaped quote does not end the string');
});

test('a megabyte of nesting is refused, and a megabyte of flat text is not', () => {
  assert.equal(jsonNestsDeeperThan(`{"variables":${'['.repeat(500_000)}${']'.repeat(500_000)}}`, 32), true);
  assert.equal(jsonNestsDeeperThan(`{"query":"${'['.repeat(1_000_000)}"}`, 32), false);
});
