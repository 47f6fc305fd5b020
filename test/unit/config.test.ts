import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, START_REQUIREMENTS, VARIABLES } from '../../src/config.ts';

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

describe('production start requirements', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      parseConfig(env, START_REQUIREMENTS);
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return [...err.problems];
    }
  };

  test('production without a database server, mail, a private /metrics and a master key lists all four, with any invalid value', () => {
    const problems = problemsOf({ NODE_ENV: 'production', PORT: 'x' });
    assert.equal(problems.length, 5);
    assert.match(problems.join('\n'), /MASTER_KEY, MASTER_KEY_FILE or MASTER_KEY_RSA_PRIVATE_KEY_FILE must be set in production/);
    assert.match(problems.join('\n'), /PORT must be a whole number/);
    assert.match(problems.join('\n'), /DATABASE_URL must be set in production/);
    assert.match(problems.join('\n'), /SMTP_URL must be set in production/);
    assert.match(problems.join('\n'), /METRICS_TOKEN or METRICS_PORT must be set in production/);
  });

  test('either a metrics token or a metrics port satisfies production', () => {
    const base = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', SMTP_URL: 'smtp://mail:587', MASTER_KEY_FILE: '/run/secrets/master-key' };
    assert.deepEqual(problemsOf({ ...base, METRICS_TOKEN: 'a-long-enough-token' }), []);
    assert.deepEqual(problemsOf({ ...base, METRICS_PORT: '9464' }), []);
  });

  test('outside production nothing more is required, and tools that read the configuration are not held to them', () => {
    assert.deepEqual(problemsOf({}), []);
    assert.doesNotThrow(() => parseConfig({ NODE_ENV: 'production' }));
  });

  test('a short metrics token is refused without being echoed', () => {
    assert.throws(
      () => parseConfig({ METRICS_TOKEN: 'hunter2' }),
      (e: unknown) => e instanceof ConfigError && /METRICS_TOKEN must be at least 16 characters/.test(e.message) && !e.message.includes('hunter2'),
    );
  });
});

describe('GraphQL limits configuration', () => {
  test('has the documented defaults', () => {
    const c = parseConfig({});
    assert.deepEqual(
      [
        c.graphqlMaxDepth,
        c.graphqlMaxAliases,
        c.graphqlMaxDirectives,
        c.graphqlMaxTokens,
        c.graphqlMaxFragmentSpreads,
        c.graphqlMaxDuplicateFields,
        c.graphqlMaxCost,
        c.graphqlDefaultListSize,
        c.graphqlMaxIntrospectionLists,
        c.graphqlMaxBatch,
      ],
      [10, 15, 5, 1000, 50, 20, 5000, 10, 3, 1],
    );
  });

  test('each limit can be set, and nonsense is refused by name', () => {
    assert.equal(parseConfig({ GRAPHQL_MAX_ALIASES: '40' }).graphqlMaxAliases, 40);
    assert.throws(
      () => parseConfig({ GRAPHQL_MAX_TOKENS: '5', GRAPHQL_MAX_BATCH: '0' }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 2,
    );
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
