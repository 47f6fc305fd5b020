/**
 * `npm run db:migrate`: applies pending migrations to each configured database (Django's
 * `migrate`) and prints what it applied. `--check` applies nothing and exits 1 when a
 * database differs from the repo.
 */
import { loadConfig } from '../src/config.ts';
import { describeMismatch, migrateDatabase, migrationStatus } from '../src/db/migrate.ts';
import { openConfiguredDatabases, parseCliArgs, named, RefusedError, runCli } from './lib/cli.ts';

const USAGE = `usage: npm run db:migrate [-- --check]
  --check   apply nothing; list what differs and exit 1 if anything does`;

runCli('db:migrate', USAGE, async () => {
  const args = parseCliArgs(process.argv.slice(2), { check: { type: 'boolean', default: false } });
  const config = loadConfig();
  const databases = await openConfiguredDatabases(config);
  try {
    const problems: string[] = [];
    for (const database of [databases.data, databases.auth]) {
      if (args.check) {
        const found = describeMismatch(await migrationStatus(database), database.label);
        problems.push(...found);
        if (found.length === 0) process.stdout.write(`${named(database)}: up to date\n`);
        continue;
      }
      const applied = await migrateDatabase(database);
      process.stdout.write(`${named(database)}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`);
    }
    if (problems.length > 0) throw new RefusedError(`${problems.join('\n')}\nRun npm run db:migrate to apply the missing ones.`);
  } finally {
    await databases.close();
  }
});
