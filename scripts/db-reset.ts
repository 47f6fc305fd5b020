/**
 * `npm run db:reset`: for each configured database, drops Strongroom's own schemas (and
 * nothing else), migrates, then loads a fixture set across both — Django's `flush` +
 * `migrate` + `loaddata` in one non-interactive, repeatable step for CI.
 *
 *   npm run db:reset                      demo fixtures
 *   npm run db:reset -- --fixtures none   empty schemas
 *   NODE_ENV=production npm run db:reset -- --force
 */
import { loadConfig } from '../src/config.ts';
import { FIXTURE_STEPS, fixtureSetNames, loadFixtures } from '../src/db/fixtures/index.ts';
import { migrateDatabase, OWNED_SCHEMAS } from '../src/db/migrate.ts';
import { dropOwnedSchemas, ResetRefusedError, resetProblems } from '../src/db/reset.ts';
import { createLogger } from '../src/logger.ts';
import { openKeyring } from '../src/crypto/keyring.ts';
import { createStoreServices } from '../src/services/index.ts';
import { named, openConfiguredDatabases, parseCliArgs, RefusedError, runCli, UsageError } from './lib/cli.ts';

const USAGE = `usage: npm run db:reset [-- --fixtures <set>] [--force]
  --fixtures <set>  fixture set to load after migrating: ${fixtureSetNames(FIXTURE_STEPS).join(', ')} (default demo)
  --force           allow a reset when NODE_ENV=production`;

const step = (line: string) => process.stdout.write(`${line}\n`);

runCli('db:reset', USAGE, async () => {
  const args = parseCliArgs(process.argv.slice(2), {
    fixtures: { type: 'string', default: 'demo' },
    force: { type: 'boolean', default: false },
  });
  const sets = fixtureSetNames(FIXTURE_STEPS);
  if (!sets.includes(args.fixtures)) throw new UsageError(`unknown fixture set "${args.fixtures}"; known sets: ${sets.join(', ')}`);
  const config = loadConfig();
  if (config.nodeEnv === 'production' && !args.force) {
    throw new RefusedError('refusing to reset with NODE_ENV=production: this drops every Strongroom schema and its data. Add --force if you mean it.');
  }
  const started = performance.now();
  const databases = await openConfiguredDatabases(config);
  try {
    const targets = [databases.data, databases.auth];
    // Check rights on both databases before touching either.
    const problems = (await Promise.all(targets.map(async (d) => (await resetProblems(d)).map((p) => `${d.name} database: ${p}`)))).flat();
    if (problems.length > 0) {
      throw new ResetRefusedError('permission', `cannot reset, nothing was dropped:\n  ${problems.join('\n  ')}`);
    }
    for (const database of targets) {
      step(`${named(database)}: dropping schemas ${OWNED_SCHEMAS[database.name].join(', ')} and the migration record`);
      const dropped = await dropOwnedSchemas(database);
      step(`${named(database)}: dropped ${dropped.length ? dropped.join(', ') : 'nothing (no schemas yet)'}`);
      try {
        const applied = await migrateDatabase(database);
        step(`${named(database)}: migrated, applied ${applied.join(', ') || 'nothing'}`);
      } catch (err) {
        step(`${named(database)}: its schemas were dropped but migrating failed; fix the cause below and run db:reset again`);
        throw err;
      }
    }
    if (args.fixtures === 'none') {
      step('fixtures: none');
    } else {
      const keyring = await openKeyring({ database: databases.auth, config, logger: createLogger(config.logLevel) });
      const services = createStoreServices({ config, databases, keyring, logger: createLogger('silent') });
      try {
        await loadFixtures(FIXTURE_STEPS, args.fixtures, { services }, (s, summary) =>
          step(`fixtures ${args.fixtures}: ${s.name} (${s.database}): ${summary}`),
        );
      } finally {
        await services.close();
        keyring.close();
      }
    }
    step(`reset done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await databases.close();
  }
});
