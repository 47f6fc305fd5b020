/**
 * `npm run db:migrate`: applies pending migrations to each configured database (Django's
 * `migrate`) and prints what it applied, then seals any secret an earlier version stored in
 * the clear (src/services/secrets/seal.ts; the keyring is opened only when there is one).
 * `--check` applies nothing and exits 1 when a database differs from the repo or holds
 * secrets in the clear.
 */
import { loadConfig } from '../src/config.ts';
import { openKeyring } from '../src/crypto/keyring.ts';
import { describeMismatch, migrateDatabase, migrationStatus } from '../src/db/migrate.ts';
import { createLogger, logDestination } from '../src/logger.ts';
import { countUnsealed, describeSealing, sealPlaintext } from '../src/services/secrets/seal.ts';
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
    if (problems.length === 0) {
      const unsealed = await countUnsealed(databases);
      if (unsealed > 0 && args.check) problems.push(`${unsealed} secret value(s) are stored in the clear, awaiting the sealing step`);
      if (unsealed > 0 && !args.check) {
        const logger = createLogger(config.logLevel, logDestination({ dest: 2, bufferBytes: 0, flushMs: 0 }));
        const keyring = await openKeyring({ database: databases.auth, config, logger });
        try {
          const report = await sealPlaintext({ databases, cipher: keyring, batchSize: config.secretsBatchSize });
          const line = describeSealing(report);
          if (line) process.stdout.write(`${line}\n`);
        } finally {
          keyring.close();
        }
      }
    }
    if (problems.length > 0) throw new RefusedError(`${problems.join('\n')}\nRun npm run db:migrate to apply the missing ones.`);
  } finally {
    await databases.close();
  }
});
