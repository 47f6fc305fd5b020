import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accountLockSeconds } from '../../src/services/auth/rate-limits.ts';

describe('the account lock', () => {
  const settings = { accountFailures: 10, accountLockSeconds: 60, accountLockMaxSeconds: 3600 };

  test('none below the budget, then the base, doubling with each further failure', () => {
    assert.deepEqual(
      [0, 9, 10, 11, 12, 13, 14, 15].map((n) => accountLockSeconds(n, settings)),
      [0, 0, 60, 120, 240, 480, 960, 1920],
    );
  });

  test('capped, however many failures', () => {
    assert.equal(accountLockSeconds(16, settings), 3600);
    assert.equal(accountLockSeconds(1_000_000, settings), 3600);
    assert.equal(accountLockSeconds(Number.MAX_SAFE_INTEGER, settings), 3600);
  });
});
