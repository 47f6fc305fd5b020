import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { GraphQLError } from 'graphql';
import { BadUserInputError, describeForLog, ERROR_CODES, maskError, SAFE_MESSAGE, StrongroomError } from '../../src/errors.ts';

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

describe('what an unexpected error leaves in the log', () => {
  const dropped = () => {
    const cause = new Error('Connection terminated unexpectedly');
    const query = new Error('Failed query: select "id" from "auth"."users" where lower("email") = lower($1)\nparams: alice@example.com', { cause });
    query.name = 'DrizzleQueryError';
    return query;
  };

  test('a failed query whose cause is not a PostgreSQL server error is logged by class, without its SQL or parameters', () => {
    const logged = describeForLog(dropped());
    assert.equal(logged.errorType, 'DrizzleQueryError <- Error');
    assert.equal(logged.errorMessage, undefined);
    assert.doesNotMatch(JSON.stringify(logged), /alice@example\.com|Failed query|select/);
  });

  test("Node's error code is logged (ECONNRESET), and a PostgreSQL error's SQLSTATE and constraint", () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    const query = new Error('Failed query: insert … params: alice@example.com', { cause: reset });
    assert.equal(describeForLog(query).errorCode, 'ECONNRESET');
    assert.doesNotMatch(JSON.stringify(describeForLog(query)), /alice/);
    const pg = Object.assign(new Error('invalid input syntax for type uuid: "alice@example.com"'), { code: '22P02', severity: 'ERROR' });
    const logged = describeForLog(new Error('Failed query: … params: alice@example.com', { cause: pg }));
    assert.equal(logged.sqlState, '22P02');
    assert.equal(logged.errorCode, undefined, 'a SQLSTATE is not mistaken for a Node code');
    assert.doesNotMatch(JSON.stringify(logged), /alice/, 'not even the server message, which quotes the value it refused');
  });

  test('only classes known to be safe have their message logged', () => {
    assert.equal(describeForLog(new StrongroomError('TIMEOUT', 'Took too long.')).errorMessage, 'Took too long.');
    class Declared extends Error {
      readonly [SAFE_MESSAGE] = true;
    }
    assert.equal(describeForLog(new Error('wrapper', { cause: new Declared('the folder is in use') })).errorMessage, 'the folder is in use');
    assert.equal(describeForLog(new TypeError('The "path" argument must be of type string. Received alice@example.com')).errorMessage, undefined);
  });
});
