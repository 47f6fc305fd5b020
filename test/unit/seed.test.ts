import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APPLICATIONS, seedEvents, seedLicences } from '../../src/db/seed.ts';

const options = { events: 20_000, licences: 300, seed: 42, until: new Date('2025-01-01T00:00:00Z') };

describe('the seed generator', () => {
  test('gives the same licences and events for the same options', () => {
    assert.deepEqual(seedLicences(options), seedLicences(options));
    assert.deepEqual(seedEvents(options, 0, 5000), seedEvents(options, 0, 5000));
  });

  test('gives different data for another seed', () => {
    assert.notDeepEqual(seedEvents(options, 0, 1000).licence, seedEvents({ ...options, seed: 43 }, 0, 1000).licence);
    assert.notDeepEqual(seedLicences(options), seedLicences({ ...options, seed: 43 }));
  });

  test('generates any batch alone exactly as in one pass', () => {
    const whole = seedEvents(options, 0, 3000);
    const second = seedEvents(options, 1000, 2000);
    assert.deepEqual(second.licence, whole.licence.subarray(1000));
    assert.deepEqual(second.occurredAt, whole.occurredAt.subarray(1000));
  });

  test('gives each user at most one licence per application, with unique ids', () => {
    const licences = seedLicences(options);
    assert.equal(licences.length, 300);
    assert.equal(new Set(licences.map((l) => `${l.username}/${l.application}`)).size, 300);
    assert.equal(new Set(licences.map((l) => l.uniqueId)).size, 300);
    assert.ok(licences.every((l) => (APPLICATIONS as readonly string[]).includes(l.application)));
    assert.ok(new Set(licences.map((l) => l.username)).size < 300, 'some users hold several licences');
  });

  test('spreads events over the year before `until`, in time order, busier on weekdays and by day', () => {
    const { occurredAt, licence, kind, source } = seedEvents(options, 0, options.events);
    const start = options.until.getTime() / 1000 - 365 * 86_400;
    for (let i = 0; i < occurredAt.length; i++) {
      assert.ok(occurredAt[i]! >= start && occurredAt[i]! < options.until.getTime() / 1000, `event ${i} inside the year`);
      if (i > 0) assert.ok(occurredAt[i]! >= occurredAt[i - 1]!, `event ${i} in order`);
    }
    const weekday = (t: number) => new Date(t * 1000).getUTCDay();
    const weekend = occurredAt.filter((t) => [0, 6].includes(weekday(t))).length / occurredAt.length;
    assert.ok(weekend > 0.08 && weekend < 0.2, `weekend share ${weekend}`);
    const hour = (t: number) => new Date(t * 1000).getUTCHours();
    const nights = occurredAt.filter((t) => hour(t) < 5).length;
    const mornings = occurredAt.filter((t) => hour(t) >= 9 && hour(t) < 14).length;
    assert.ok(mornings > nights * 5);
    // Every licence index is valid, and popular licences dominate.
    assert.ok(licence.every((l) => l >= 0 && l < options.licences));
    assert.ok(licence.filter((l) => l < 30).length > licence.length * 0.3);
    assert.ok(new Set(kind).size > 3 && new Set(source).size > 3);
  });
});
