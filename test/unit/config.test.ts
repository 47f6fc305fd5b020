import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, VARIABLES } from '../../src/config.ts';

describe('configuration', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = parseConfig({});
    assert.equal(config.port, 4000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.authDatabaseUrl, undefined);
    assert.equal(config.bodyLimitBytes, 1024 * 1024);
    assert.equal(config.graphiql, true);
    assert.ok(Object.isFrozen(config));
  });

  test('production turns GraphiQL and introspection off unless asked for', () => {
    const config = parseConfig({ NODE_ENV: 'production' });
    assert.equal(config.graphiql, false);
    assert.equal(config.introspection, false);
    assert.equal(parseConfig({ NODE_ENV: 'production', GRAPHIQL: 'true' }).graphiql, true);
  });

  test('every invalid variable is reported at once, by name, without echoing its value', () => {
    const secretUrl = 'mysql://admin:hunter2@db/x';
    let error: unknown;
    try {
      parseConfig({ PORT: 'eighty', DATABASE_URL: secretUrl, LOG_LEVEL: 'loud', MIGRATE_ON_START: 'maybe' });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    const names = error.problems.map((p) => p.split(' ')[0]);
    assert.deepEqual(names.sort(), ['DATABASE_URL', 'LOG_LEVEL', 'MIGRATE_ON_START', 'PORT']);
    assert.doesNotMatch(error.message, /hunter2/);
  });

  test('out-of-range numbers are refused', () => {
    assert.throws(() => parseConfig({ PORT: '70000' }), ConfigError);
    assert.throws(() => parseConfig({ BODY_LIMIT_BYTES: '10' }), ConfigError);
  });

  test('TRUST_PROXY is a list of addresses', () => {
    assert.deepEqual(parseConfig({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16' }).trustProxy, ['10.0.0.1', '192.168.0.0/16']);
  });

  test('the README documents every variable', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of Object.keys(VARIABLES)) assert.match(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} missing from README`);
  });
});

describe('worker configuration', () => {
  test('threads default to the CPU count and the queue has bounds', () => {
    const config = parseConfig({});
    assert.equal(config.workerThreads, availableParallelism());
    assert.equal(config.workerMaxQueue, 64);
    assert.equal(config.workerQueueHighWater, 32);
    assert.equal(config.workerTaskTimeoutMs, 30_000);
    assert.deepEqual(config.workerTaskTimeouts, {});
    assert.equal(config.workerRecycleAfterTasks, 1000);
  });

  test('per-kind timeouts are read as kind=ms', () => {
    assert.deepEqual(parseConfig({ WORKER_TASK_TIMEOUTS: 'selfTest=1500' }).workerTaskTimeouts, { selfTest: 1500 });
  });

  test('an unknown kind or a malformed entry is refused by name', () => {
    for (const raw of ['report=10', 'selfTest', 'selfTest=-1', 'selfTest=0']) {
      assert.throws(
        () => parseConfig({ WORKER_TASK_TIMEOUTS: raw }),
        (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && e.problems[0]!.startsWith('WORKER_TASK_TIMEOUTS '),
        raw,
      );
    }
  });

  test('zero threads is refused', () => {
    assert.throws(() => parseConfig({ WORKER_THREADS: '0' }), ConfigError);
  });
});
