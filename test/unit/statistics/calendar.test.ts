import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { civilFromDays, daysFromCivil, formatDate, isoWeekLabel, isoWeekday, mondayOf, parseDate } from '../../../src/services/statistics/calendar.ts';

describe('calendar dates', () => {
  test('only real dates in years 0001–9999 parse', () => {
    assert.equal(parseDate('1970-01-01'), 0);
    assert.equal(parseDate('2024-02-29'), daysFromCivil(2024, 2, 29));
    for (const bad of [
      '2026-02-29',
      '1900-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-04-31',
      '0000-01-01',
      '2026-4-01',
      '2026-04-01T00:00',
      ' 2026-04-01',
      '',
      '20260401',
    ]) {
      assert.equal(parseDate(bad), undefined, bad);
    }
    assert.equal(formatDate(parseDate('0001-01-01')!), '0001-01-01');
    assert.equal(formatDate(parseDate('9999-12-31')!), '9999-12-31');
  });

  test('day numbers and civil dates convert both ways, as the proleptic Gregorian calendar counts', () => {
    for (let days = daysFromCivil(1, 1, 1); days < daysFromCivil(9999, 12, 31); days += 997) {
      const { year, month, day } = civilFromDays(days);
      assert.equal(daysFromCivil(year, month, day), days);
    }
    // Years below 100 mean themselves (Date.UTC would read 0099 as 1999).
    assert.equal(formatDate(daysFromCivil(99, 12, 31)), '0099-12-31');
    assert.equal(daysFromCivil(2000, 1, 3), 10_959);
  });

  test('weeks start on Monday', () => {
    const monday = parseDate('2026-03-30')!;
    assert.equal(isoWeekday(monday), 1);
    assert.equal(isoWeekday(monday + 6), 7);
    for (let d = 0; d < 7; d++) assert.equal(mondayOf(monday + d), monday);
    assert.equal(mondayOf(parseDate('1970-01-01')!), parseDate('1969-12-29'));
  });

  test('ISO week labels are what pandas %G-W%V and PostgreSQL IYYY-"W"IW print', () => {
    const cases: [string, string][] = [
      ['2026-03-30', '2026-W14'],
      ['2024-12-30', '2025-W01'],
      ['2020-12-28', '2020-W53'],
      ['2021-01-04', '2021-W01'],
      ['2015-12-28', '2015-W53'],
      ['1969-12-29', '1970-W01'],
      ['0001-01-01', '0001-W01'],
    ];
    for (const [monday, label] of cases) assert.equal(isoWeekLabel(parseDate(monday)!), label, monday);
  });
});
