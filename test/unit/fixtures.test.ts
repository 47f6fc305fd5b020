import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FIXTURE_STEPS, type FixtureStep, fixtureSetNames, loadFixtures, orderSteps } from '../../src/db/fixtures/index.ts';
import type { Services } from '../../src/services/index.ts';

const step = (name: string, after: string[] = [], sets: string[] = ['demo']): FixtureStep => ({
  name,
  database: name.startsWith('auth') ? 'auth' : 'data',
  after,
  sets: Object.fromEntries(sets.map((s) => [s, async () => `${name} loaded`])),
});

describe('fixture steps', () => {
  test('run after the steps they depend on, across databases, each time the earliest registered that may', () => {
    const order = orderSteps([
      step('licensing.events', ['licensing.licences']),
      step('licensing.licences', ['auth.users']),
      step('auth.users'),
      step('reporting.jobs'),
    ]);
    assert.deepEqual(
      order.map((s) => s.name),
      ['auth.users', 'licensing.licences', 'licensing.events', 'reporting.jobs'],
    );
  });

  test('an unknown dependency, a cycle or a duplicate name is a programming error', () => {
    assert.throws(() => orderSteps([step('a', ['missing'])]), TypeError);
    assert.throws(() => orderSteps([step('a', ['b']), step('b', ['a'])]), /cycle: a, b/);
    assert.throws(() => orderSteps([step('a'), step('a')]), /twice/);
  });

  test('a set loads only the steps that take part in it, and reports each', async () => {
    const seen: string[] = [];
    await loadFixtures([step('a', [], ['demo']), step('b', [], ['big'])], 'demo', { services: {} as Services }, (_s, summary) => seen.push(summary));
    assert.deepEqual(seen, ['a loaded']);
    await assert.rejects(loadFixtures([step('a')], 'nope', { services: {} as Services }), TypeError);
  });

  test('the registered steps order cleanly and offer the demo set', () => {
    assert.doesNotThrow(() => orderSteps(FIXTURE_STEPS));
    assert.ok(fixtureSetNames(FIXTURE_STEPS).includes('demo'));
    assert.ok(fixtureSetNames(FIXTURE_STEPS).includes('none'));
  });
});
