/**
 * `npm run keys -- <command>`: the keyring from the command line, thin over
 * src/services/keys.ts. One entry per command in {@link COMMANDS}: a new command (such as
 * `rotate`) is one more entry with its usage and its function.
 */
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from '../src/config.ts';
import { type Keyring, openKeyring } from '../src/crypto/keyring.ts';
import type { KeyKind } from '../src/crypto/keyring-store.ts';
import type { Databases } from '../src/db/client.ts';
import { describeMismatch, migrationStatus } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import { createKeysService, type KeysService } from '../src/services/keys.ts';
import { openConfiguredDatabases, RefusedError, runCli, UsageError } from './lib/cli.ts';

/** What every command receives: the configuration, the open databases and keyring, the keys service and stdout. */
export interface KeysCommandContext {
  readonly config: Config;
  readonly databases: Databases;
  readonly keyring: Keyring;
  readonly keys: KeysService;
  readonly out: (line: string) => void;
}

interface KeysCommand {
  /** Its line in the usage text (after `npm run keys -- `). */
  readonly usage: string;
  /** What it does, for the usage text. */
  readonly summary: string;
  readonly options?: NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  /** How many positional arguments it takes. */
  readonly positionals?: number;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }, ctx: KeysCommandContext): Promise<void>;
}

const KINDS: Record<string, KeyKind> = { data: 'data', 'blind-index': 'blind_index', code: 'code' };
const kindName = (kind: KeyKind) => kind.replace('_', '-');

async function promoteNow(ctx: KeysCommandContext, id: string): Promise<void> {
  const { key, previous } = await ctx.keys.promote(id, (ms) =>
    ctx.out(`waiting ${Math.ceil(ms / 1000)} s so that every process has loaded key ${id} before it seals (KEYRING_REFRESH_SECONDS × 2)`),
  );
  ctx.out(`${key.id} is now the primary ${kindName(key.kind)} key${previous ? `; ${previous} stays active for the values it protects` : ''}`);
}

export const COMMANDS: Record<string, KeysCommand> = {
  list: {
    usage: 'list',
    summary: 'every key: id, kind, version, state, created, and how many stored values it protects',
    async run(_args, ctx) {
      const rows = (await ctx.keys.list()).map((k) => [k.id, kindName(k.kind), String(k.version), k.state, k.createdAt.toISOString(), String(k.values)]);
      const header = ['id', 'kind', 'version', 'state', 'created', 'values'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows])
        ctx.out(
          row
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        );
    },
  },
  generate: {
    usage: 'generate [--kind data|blind-index|code] [--promote]',
    summary: 'add a random key (active: it opens values at once, and seals once promoted)',
    options: { kind: { type: 'string' }, promote: { type: 'boolean' } },
    async run({ values }, ctx) {
      const kind = KINDS[String(values.kind ?? 'data')];
      if (!kind) throw new UsageError(`--kind must be data, blind-index or code, got "${String(values.kind)}"`);
      const key = await ctx.keys.generate(kind);
      ctx.out(`generated ${kindName(kind)} key ${key.id} (version ${key.version}, active)`);
      if (values.promote) await promoteNow(ctx, key.id);
    },
  },
  add: {
    usage: 'add --fernet-key <key> [--promote]',
    summary: "import a data key made by Python's Fernet.generate_key() (the old app's key), active",
    options: { 'fernet-key': { type: 'string' }, promote: { type: 'boolean' } },
    async run({ values }, ctx) {
      if (typeof values['fernet-key'] !== 'string') throw new UsageError('add needs --fernet-key <key>');
      const key = await ctx.keys.addFernetKey(values['fernet-key']);
      ctx.out(`added data key ${key.id} (version ${key.version}, active)`);
      if (values.promote) await promoteNow(ctx, key.id);
    },
  },
  promote: {
    usage: 'promote <id>',
    summary: 'make a key the primary of its kind; the former primary stays active',
    positionals: 1,
    async run({ positionals }, ctx) {
      await promoteNow(ctx, positionals[0]!);
    },
  },
  retire: {
    usage: 'retire <id>',
    summary: 'retire a key; refused (KEY_IN_USE) while it is primary or any stored value uses it',
    positionals: 1,
    async run({ positionals }, ctx) {
      const key = await ctx.keys.retire(positionals[0]!);
      ctx.out(`${key.id} is retired`);
    },
  },
};

const USAGE = Object.values(COMMANDS)
  .map((c) => `  npm run keys -- ${c.usage}\n      ${c.summary}`)
  .join('\n');

runCli('keys', `usage:\n${USAGE}`, async () => {
  const [name, ...rest] = process.argv.slice(2);
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) throw new UsageError(name ? `unknown command "${name}"` : 'name a command');
  let args: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    args = parseArgs({ args: rest, options: command.options ?? {}, strict: true, allowPositionals: true }) as typeof args;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  if (args.positionals.length !== (command.positionals ?? 0)) throw new UsageError(`usage: npm run keys -- ${command.usage}`);

  const config = loadConfig();
  const databases = await openConfiguredDatabases(config);
  let keyring: Keyring | undefined;
  try {
    for (const database of [databases.auth, databases.data]) {
      const mismatch = describeMismatch(await migrationStatus(database), database.label);
      if (mismatch.length > 0) throw new RefusedError(`${mismatch.join('\n')}\nRun npm run db:migrate first.`);
    }
    keyring = await openKeyring({ database: databases.auth, config, logger: createLogger(config.logLevel) });
    const keys = createKeysService({ databases, keyring, refreshSeconds: config.keyringRefreshSeconds });
    await command.run(args, { config, databases, keyring, keys, out: (line) => process.stdout.write(`${line}\n`) });
  } finally {
    keyring?.close();
    await databases.close();
  }
});
