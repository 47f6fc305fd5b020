/**
 * `npm run keys -- <command>`: key management over the keyring in the auth database.
 *
 *   rotate [--batch N]                 re-encrypt every value under an older data key
 *   rotate --blind-index [--batch N]   a new blind-index key, rows re-indexed, the old key retired
 */
import { loadConfig } from '../src/config.ts';
import { openKeyring } from '../src/crypto/keyring.ts';
import { createLogger, logDestination } from '../src/logger.ts';
import { openConfiguredDatabases, parseCliArgs, runCli, UsageError, wholeNumber } from './lib/cli.ts';
import { rotateBlindIndexCommand, rotateCommand } from './lib/keys-rotate.ts';

const USAGE = `usage: npm run keys -- <command>
  rotate [--batch N]                re-encrypt every value under an older data key (N rows per transaction)
  rotate --blind-index [--batch N]  new blind-index key, rows re-indexed, old key retired`;

runCli('keys', USAGE, async () => {
  const [command, ...rest] = process.argv.slice(2);
  const config = loadConfig();
  switch (command) {
    case 'rotate': {
      const args = parseCliArgs(rest, { batch: { type: 'string' }, 'blind-index': { type: 'boolean', default: false } });
      const batchSize = wholeNumber(args.batch, 'batch', config.secretsBatchSize, 1, 100_000);
      const databases = await openConfiguredDatabases(config);
      const logger = createLogger(config.logLevel, logDestination({ dest: 2, bufferBytes: 0, flushMs: 0 }));
      try {
        const keyring = await openKeyring({ database: databases.auth, config, logger, createIfEmpty: false });
        try {
          const ctx = { config, databases, keyring, batchSize, out: (line: string) => process.stdout.write(`${line}\n`) };
          await (args['blind-index'] ? rotateBlindIndexCommand(ctx) : rotateCommand(ctx));
        } finally {
          keyring.close();
        }
      } finally {
        await databases.close();
      }
      return;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
});
