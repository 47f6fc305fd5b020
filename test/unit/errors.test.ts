import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { GraphQLError } from 'graphql';
import { BadUserInputError, ERROR_CODES, maskError, StrongroomError } from '../../src/errors.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: { error: (obj: object) => void lines.push(obj as Record<string, unknown>) } };
}

describe('error masking', () => {
  test('a coded error reaches the client with its code and without a stack trace', () => {
    const { logger, lines } = capture();
    const error = new GraphQLError('bad', { originalError: new BadUserInputError('Email is not valid.', 'email') });
    const out = maskError(logger)({ message: 'Email is not valid.', extensions: { code: 'BAD_USER_INPUT', field: 'email', stacktrace: ['x'] } }, error);
    assert.equal(out.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(out.extensions?.field, 'email');
    assert.equal(out.extensions?.stacktrace, undefined);
    assert.equal(lines.length, 0);
  });

  test('a database error is masked, and neither the client nor the log sees its SQL or parameters', () => {
    const { logger, lines } = capture();
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint'), {
      code: '23505',
      severity: 'ERROR',
      constraint: 'licences_unique_id_unique',
    });
    const drizzleError = new Error('Failed query: insert into "licences" values ($1)\nparams: SECRET-KEY-123', { cause: pgError });
    const out = maskError(logger)(
      { message: drizzleError.message, path: ['createLicence'] },
      new GraphQLError(drizzleError.message, { originalError: drizzleError }),
    );
    assert.equal(out.extensions?.code, 'INTERNAL_SERVER_ERROR');
    assert.doesNotMatch(JSON.stringify(out), /SECRET|insert into/);
    assert.equal(lines.length, 1);
    assert.doesNotMatch(JSON.stringify(lines[0]), /SECRET|insert into/);
    assert.equal(lines[0]!.sqlState, '23505');
    assert.equal(lines[0]!.correlationId, out.extensions?.correlationId);
  });

  test('an unexpected error becomes INTERNAL_SERVER_ERROR with a correlation id that is logged', () => {
    const { logger, lines } = capture();
    const out = maskError(logger)({ message: 'boom' }, new GraphQLError('boom', { originalError: new TypeError('x is undefined') }));
    assert.equal(out.extensions?.code, 'INTERNAL_SERVER_ERROR');
    assert.notEqual(out.message, 'boom');
    assert.match(String(out.extensions?.correlationId), /^[0-9a-f-]{36}$/);
    assert.equal(lines[0]!.correlationId, out.extensions?.correlationId);
  });

  test('StrongroomError sets extensions.code from the one list', () => {
    const e = new StrongroomError('TIMEOUT', 'Took too long.');
    assert.equal(e.extensions.code, 'TIMEOUT');
  });

  test('the README documents every error code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERROR_CODES)) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), `${code} missing from README`);
  });
});
