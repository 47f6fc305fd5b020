/**
 * `npm run import:django-licences -- --from <postgres url> --table <name> --fernet-key <key>`:
 * copies the old Django app's `License` rows into Strongroom licences, keys re-encrypted under
 * the keyring's primary key (src/services/licensing/django-import.ts does the work).
 */
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { openKeyring } from '../src/crypto/keyring.ts';
import { Fernet, FernetError } from '../src/crypto/fernet.ts';
import { describeMismatch, migrationStatus } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import { createStoreServices } from '../src/services/index.ts';
import { importDjangoLicences, quoteTable } from '../src/services/licensing/django-import.ts';
import { createProgress } from './lib/progress.ts';
import { named, openConfiguredDatabases, parseCliArgs, RefusedError, runCli, UsageError, wholeNumber } from './lib/cli.ts';

const USAGE = `usage: npm run import:django-licences -- --from <postgres url> --table <name> --fernet-key <key> [--batch N]
  --from URL          the old app's PostgreSQL database (read only)
  --table NAME        its License table, e.g. licensing_license or public.licensing_license
  --fernet-key KEY    the Fernet key its licence column was encrypted with (URL-safe base64, 32 bytes)
  --batch N           rows per batch (default 1000)
Rows already imported (same unique_id) are skipped, so a rerun writes nothing twice.`;

runCli('import:django-licences', USAGE, async () => {
  const args = parseCliArgs(process.argv.slice(2), {
    from: { type: 'string' },
    table: { type: 'string' },
    'fernet-key': { type: 'string' },
    batch: { type: 'string' },
  });
  if (!args.from || !args.table || !args['fernet-key']) throw new UsageError('--from, --table and --fernet-key are required');
  if (!/^postgres(ql)?:\/\//.test(args.from)) throw new UsageError('--from must be a postgres:// URL');
  try {
    quoteTable(args.table);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  try {
    new Fernet(args['fernet-key']);
  } catch (err) {
    if (err instanceof FernetError) throw new UsageError('--fernet-key is not a Fernet key (URL-safe base64 of 32 bytes)');
    throw err;
  }
  const batchSize = wholeNumber(args.batch, 'batch', 1000, 1, 5000);

  const config = loadConfig();
  const databases = await openConfiguredDatabases(config);
  const source = new pg.Pool({ connectionString: args.from, max: 1, application_name: 'strongroom-import' });
  try {
    const mismatch = describeMismatch(await migrationStatus(databases.data), databases.data.label);
    if (mismatch.length > 0) throw new RefusedError(`${mismatch.join('\n')}\nRun npm run db:migrate first.`);
    const keyring = await openKeyring({ database: databases.auth, config, logger: createLogger(config.logLevel) });
    const services = createStoreServices({ config, databases, keyring, logger: createLogger('silent') });
    process.stdout.write(`importing ${args.table} into the ${named(databases.data)}\n`);
    const bar = createProgress({ label: 'licences', total: 0 });
    const summary = await importDjangoLicences({
      source,
      table: args.table,
      fernetKey: args['fernet-key'],
      target: services.licences,
      batchSize,
      onProgress: (done, total) => bar.update(done, total),
    }).finally(async () => {
      bar.finish();
      await services.close();
      keyring.close();
    });
    process.stdout.write(`read ${summary.read}, written ${summary.written}, skipped as duplicates ${summary.duplicates}, refused ${summary.refused.length}\n`);
    for (const r of summary.refused) process.stdout.write(`refused ${r.row}: ${r.reason}\n`);
    if (summary.refused.length > 0) throw new RefusedError(`${summary.refused.length} row(s) were refused; the others are imported`);
  } finally {
    await source.end();
    await databases.close();
  }
});
