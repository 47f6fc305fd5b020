/**
 * The auth service checks its callers itself, for the next caller that is not GraphQL (a
 * CLI, a worker): these tests call it directly, past the schema directives, inside a
 * rolled-back transaction per test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { ANONYMOUS, type Caller, systemCaller, type UserCaller } from '../../src/services/auth/caller.ts';
import type { Role } from '../../src/services/auth/tokens.ts';
import { useTestDatabases } from '../helpers/isolation.ts';

const ctx = useTestDatabases();

const REFUSED: Caller = { kind: 'invalid', reason: 'the access token has expired; refresh the session' };

/** A caller as a valid token would make it: `role`, second step `minutesAgo` minutes ago (null: none). */
function asUser(userId: string, role: Role, minutesAgo: number | null = 1): UserCaller {
  const now = new Date();
  return {
    kind: 'user',
    userId,
    role,
    sessionId: randomUUID(),
    secondFactorAt: minutesAgo === null ? null : new Date(now.getTime() - minutesAgo * 60_000),
    secondFactorChannel: minutesAgo === null ? null : 'EMAIL',
    checkedAt: now,
  };
}

const codeOf = async (work: Promise<unknown>) => {
  try {
    await work;
    return 'OK';
  } catch (err) {
    return String((err as { extensions?: { code?: unknown } }).extensions?.code ?? err);
  }
};

let n = 0;
const newUser = (role: Role = 'USER') => {
  const id = `${Date.now().toString(36)}${++n}`;
  return { email: `perm-${id}@example.test`, username: `perm-${id}`, password: 'long enough words', role };
};

describe('auth services check their callers themselves', () => {
  test('createUser: anonymous is UNAUTHENTICATED (even asking for ADMIN), a USER FORBIDDEN, an admin needs a second step within the hour', async () => {
    const auth = ctx.services.auth;
    const admin = await auth.createUser(systemCaller('test'), newUser('ADMIN'), '127.0.0.1');
    assert.equal(await codeOf(auth.createUser(ANONYMOUS, newUser('ADMIN'), '127.0.0.1')), 'UNAUTHENTICATED');
    assert.equal(await codeOf(auth.createUser(REFUSED, newUser(), '127.0.0.1')), 'UNAUTHENTICATED');
    assert.equal(await codeOf(auth.createUser(asUser(admin.id, 'USER'), newUser(), '127.0.0.1')), 'FORBIDDEN');
    assert.equal(await codeOf(auth.createUser(asUser(admin.id, 'ANALYST'), newUser(), '127.0.0.1')), 'FORBIDDEN');
    assert.equal(await codeOf(auth.createUser(asUser(admin.id, 'ADMIN', null), newUser(), '127.0.0.1')), 'SECOND_FACTOR_REQUIRED');
    assert.equal(await codeOf(auth.createUser(asUser(admin.id, 'ADMIN', 61), newUser(), '127.0.0.1')), 'SECOND_FACTOR_REQUIRED');
    assert.equal(await codeOf(auth.createUser(asUser(admin.id, 'ADMIN', 59), newUser(), '127.0.0.1')), 'OK');
  });

  test('auditLog: admins after the second step only', async () => {
    const auth = ctx.services.auth;
    const admin = await auth.createUser(systemCaller('test'), newUser('ADMIN'), '127.0.0.1');
    assert.equal(await codeOf(auth.auditLog(ANONYMOUS, 10, null)), 'UNAUTHENTICATED');
    assert.equal(await codeOf(auth.auditLog(asUser(admin.id, 'ANALYST'), 10, null)), 'FORBIDDEN');
    assert.equal(await codeOf(auth.auditLog(asUser(admin.id, 'ADMIN', null), 10, null)), 'SECOND_FACTOR_REQUIRED');
    assert.equal(await codeOf(auth.auditLog(asUser(admin.id, 'ADMIN'), 10, null)), 'OK');
    assert.equal(await codeOf(auth.auditLog(systemCaller('audit export'), 10, null)), 'OK');
  });

  test('every entry point of a signed-in user refuses anonymous, refused-token and system callers', async () => {
    const auth = ctx.services.auth;
    const user = await auth.createUser(systemCaller('test'), newUser(), '127.0.0.1');
    for (const caller of [ANONYMOUS, REFUSED, systemCaller('a script')]) {
      const calls: [string, Promise<unknown>][] = [
        ['me', auth.me(caller)],
        ['signOut', auth.signOut(caller, '127.0.0.1')],
        ['startStepUp', auth.startStepUp(caller, '127.0.0.1')],
        ['enrollTotp', auth.enrollTotp(caller)],
        ['confirmTotp', auth.confirmTotp(caller, '123456', '127.0.0.1')],
        ['regenerateRecoveryCodes', auth.regenerateRecoveryCodes(caller, '127.0.0.1')],
        ['setEmailCodes', auth.setEmailCodes(caller, false, '127.0.0.1')],
      ];
      for (const [name, call] of calls) assert.equal(await codeOf(call), 'UNAUTHENTICATED', `${name} as ${caller.kind}`);
    }
    for (const caller of [ANONYMOUS, REFUSED]) {
      assert.equal(await codeOf(auth.recoveryCodesLeft(caller, user.id)), 'UNAUTHENTICATED');
      assert.equal(await codeOf(auth.secondFactorChannels(caller, user.id)), 'UNAUTHENTICATED');
    }
  });

  test("changing the second factor needs a second step; another user's recovery codes need an admin", async () => {
    const auth = ctx.services.auth;
    const user = await auth.createUser(systemCaller('test'), newUser(), '127.0.0.1');
    const other = await auth.createUser(systemCaller('test'), newUser(), '127.0.0.1');
    assert.equal(await codeOf(auth.enrollTotp(asUser(user.id, 'USER', null))), 'SECOND_FACTOR_REQUIRED');
    assert.equal(await codeOf(auth.enrollTotp(asUser(user.id, 'USER', 16))), 'SECOND_FACTOR_REQUIRED', 'older than 15 minutes');
    assert.equal(await codeOf(auth.enrollTotp(asUser(user.id, 'USER', 1))), 'OK');
    assert.equal(await codeOf(auth.recoveryCodesLeft(asUser(user.id, 'USER', null), user.id)), 'SECOND_FACTOR_REQUIRED');
    assert.equal(await codeOf(auth.recoveryCodesLeft(asUser(user.id, 'USER'), user.id)), 'OK');
    assert.equal(await codeOf(auth.recoveryCodesLeft(asUser(user.id, 'USER'), other.id)), 'FORBIDDEN');
    assert.equal(await codeOf(auth.secondFactorChannels(asUser(user.id, 'USER'), other.id)), 'FORBIDDEN');
    assert.equal(await codeOf(auth.recoveryCodesLeft(asUser(user.id, 'ADMIN'), other.id)), 'OK');
  });
});
