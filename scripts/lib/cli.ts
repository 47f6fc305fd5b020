/**
 * What the database CLIs share: argument parsing with usage errors, opening the configured
 * databases, and turning failures into one clear line on stderr and a sysexits-style status
 * (never a stack trace, never a URL's password or a query's parameters).
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../../src/config.ts';
import { DatabaseUnavailableError, openDatabases, type Databases } from '../../src/db/client.ts';
import { DataDirInUseError } from '../../src/db/embedded.ts';
import { postgresError } from '../../src/db/postgres-error.ts';
import { ResetRefusedError } from '../../src/db/reset.ts';
import { StrongroomError } from '../../src/errors.ts';
import { makeDataDirPrivate, PrivateTreeTooLargeError, type RepairLog, usePrivateUmask } from '../../src/fs/private.ts';

/** Exit statuses (BSD sysexits.h, as in the config's 78). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 64,
  unavailable: 69,
  noPermission: 77,
} as const;

/** Bad command-line input; the message says what was wrong, the usage what is right. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A refusal that is not an error of the program (production without --force, a database behind). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

/** node:util parseArgs, with its errors turned into {@link UsageError}. */
export function parseCliArgs<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

/** A whole number in [min, max] from an option, or a {@link UsageError} naming the option. */
export function wholeNumber(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.replace(/_/g, ''))) throw new UsageError(`--${name} must be a whole number, got "${raw}"`);
  const n = Number(raw.replace(/_/g, ''));
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** What the server would log as a warning, as one line on stderr. */
const stderrLog: RepairLog = {
  warn: (fields, message) => process.stderr.write(`${message}: ${JSON.stringify(fields)}\n`),
};

/**
 * Opens the databases the configuration names (the embedded one under DATA_DIR/db when none
 * is), after making DATA_DIR private as the server does at start.
 */
export async function openConfiguredDatabases(config: Config, poolMax = 4): Promise<Databases> {
  await makeDataDirPrivate(config.dataDir, stderrLog);
  return openDatabases({
    databaseUrl: config.databaseUrl,
    authDatabaseUrl: config.authDatabaseUrl,
    embeddedDir: path.join(config.dataDir, 'db'),
    poolMax,
  });
}

/** One line for stderr about a failure, safe to show. */
export function describeFailure(err: unknown): string {
  if (
    err instanceof UsageError ||
    err instanceof RefusedError ||
    err instanceof DatabaseUnavailableError ||
    err instanceof DataDirInUseError ||
    err instanceof PrivateTreeTooLargeError ||
    err instanceof ResetRefusedError
  ) {
    return err.message;
  }
  // Coded errors (a refused key store, KEY_IN_USE…) carry a message written for people, and their code.
  if (err instanceof StrongroomError) return `${err.code}: ${err.message}`;
  const pgErr = postgresError(err);
  if (pgErr) return `PostgreSQL refused: ${pgErr.message} (SQLSTATE ${pgErr.code})`;
  return err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
}

function statusOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof DatabaseUnavailableError) return EXIT.unavailable;
  if (err instanceof ResetRefusedError) return err.reason === 'permission' ? EXIT.noPermission : EXIT.failed;
  if (postgresError(err)?.code === '42501') return EXIT.noPermission; // insufficient_privilege
  return EXIT.failed;
}

/**
 * Runs a CLI's main: exit status from its result, or one line on stderr and a status from the
 * failure. Whatever the CLI creates (an embedded database under DATA_DIR) is private to its user.
 */
export function runCli(name: string, usage: string, main: () => Promise<void>): void {
  usePrivateUmask();
  main().then(
    () => process.exit(EXIT.ok),
    (err: unknown) => {
      process.stderr.write(`${name}: ${describeFailure(err)}\n`);
      if (err instanceof UsageError) process.stderr.write(`\n${usage}\n`);
      process.exit(statusOf(err));
    },
  );
}

/** `data database (host:port/db)` — how the CLIs name a database in their output. */
export const named = (database: { name: string; label: string }) => `${database.name} database (${database.label})`;
