/**
 * The keyring: every key that protects a secret, shared by every process through the auth
 * database (rows wrapped by the master key, src/crypto/keyring-store.ts) and held unwrapped
 * only in this process's memory. It implements {@link FieldCipher}, the seam services seal
 * and open secret columns through:
 *
 * - data keys (Fernet): the primary seals; opening tries the key a value names, then every
 *   other non-retired data key (MultiFernet);
 * - blind-index keys (HMAC-SHA256, versioned): the primary indexes; while a rotation is under
 *   way the other active ones are looked up too;
 * - code keys (HMAC-SHA256, versioned): mailed codes and recovery codes are hashed with the
 *   primary and checked with the version they name.
 *
 * A process notices a key generated or promoted elsewhere within `KEYRING_REFRESH_SECONDS`:
 * a timer compares a cheap revision (row count, last change) and reloads on a difference.
 * Nothing is cached anywhere else (the old app kept its keys in Redis, Fernet-encrypted:
 * with the keyring in PostgreSQL beside the data, one indexed read per refresh is cheaper
 * than a Redis round trip and needs no second secret).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { DecryptionFailedError, describeForLog, KeyringUnavailableError } from '../errors.ts';
import type { FieldCipher, Sealed } from './field-cipher.ts';
import { Fernet, FernetError } from './fernet.ts';
import { createMissingKeys, type KeyInfo, type KeyKind, readRevision, readRows, type UnwrappedKey, unwrapRow } from './keyring-store.ts';
import { loadMasterKey, type MasterKey } from './master-key.ts';

export interface KeyringLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** The part of the configuration the keyring reads. */
export type KeyringConfig = Pick<Config, 'masterKey' | 'masterKeyFile' | 'masterKeyRsaPrivateKeyFile' | 'nodeEnv' | 'dataDir' | 'keyringRefreshSeconds'>;

export interface KeyringOptions {
  /** The auth database, which holds the keyring. */
  readonly database: Database;
  /** The master-key variables, `KEYRING_REFRESH_SECONDS`, `NODE_ENV` and `DATA_DIR`. */
  readonly config: KeyringConfig;
  readonly logger: KeyringLog;
  /** Create the first keys on an empty keyring (default true; `false` for tools that must not write). */
  readonly createIfEmpty?: boolean;
}

/** The open keyring: a {@link FieldCipher} plus what key management needs. */
export interface Keyring extends FieldCipher {
  /** Where the master key came from, for messages. */
  readonly masterKey: MasterKey;
  /** The auth database it reads. */
  readonly database: Database;
  /** Every key known to this process, without material, by kind then version. */
  keys(): readonly KeyInfo[];
  /** Re-reads the keyring when its revision changed (`force`: always). Resolves to whether anything changed. */
  refresh(force?: boolean): Promise<boolean>;
  /** Stops the refresh timer. */
  close(): void;
}

interface Ring {
  readonly revision: string;
  readonly byId: ReadonlyMap<string, UnwrappedKey>;
  readonly fernets: ReadonlyMap<string, Fernet>;
  readonly primary: Record<KeyKind, UnwrappedKey>;
  /** Non-retired data keys other than the primary, newest first. */
  readonly fallbacks: readonly string[];
  /** Blind-index keys to look up under, the primary first. */
  readonly blindKeys: readonly UnwrappedKey[];
  /** Code keys by version. */
  readonly codeKeys: ReadonlyMap<number, UnwrappedKey>;
}

function buildRing(revision: string, keys: readonly UnwrappedKey[], previous?: Ring): Ring {
  const byId = new Map(keys.map((k) => [k.id, k]));
  const fernets = new Map<string, Fernet>();
  for (const k of keys) {
    if (k.kind !== 'data') continue;
    const known = previous?.byId.get(k.id);
    const reused = known && known.wrappedKey === k.wrappedKey ? previous?.fernets.get(k.id) : undefined;
    fernets.set(k.id, reused ?? new Fernet(k.material));
  }
  const primary = {} as Record<KeyKind, UnwrappedKey>;
  for (const k of keys) if (k.state === 'primary') primary[k.kind] = k;
  if (keys.length === 0) throw new KeyringUnavailableError('KEYRING_EMPTY', 'The keyring is empty: start the API once (its first start creates the keys).');
  for (const kind of ['data', 'blind_index', 'code'] as const) {
    if (!primary[kind])
      throw new KeyringUnavailableError(
        'KEY_ROW_INVALID',
        `The keyring has no primary ${kind.replace('_', '-')} key; promote one with npm run keys -- promote <id>.`,
      );
  }
  const newestFirst = (a: UnwrappedKey, b: UnwrappedKey) => b.version - a.version;
  const live = (kind: KeyKind) => keys.filter((k) => k.kind === kind && k.state === 'active').sort(newestFirst);
  return {
    revision,
    byId,
    fernets,
    primary,
    fallbacks: live('data').map((k) => k.id),
    blindKeys: [primary.blind_index, ...live('blind_index')],
    codeKeys: new Map(keys.filter((k) => k.kind === 'code').map((k) => [k.version, k])),
  };
}

const hmac = (key: Buffer, value: string) => createHmac('sha256', key).update(value, 'utf8').digest();
const CODE_HASH = /^(\d{1,9}):([0-9a-f]{64})$/;

async function load(database: Database, master: MasterKey, previous?: Ring): Promise<Ring> {
  // The revision is read first: a change made between the two reads is seen again next time.
  const revision = await readRevision(database.db);
  const rows = await readRows(database.db);
  return buildRing(
    revision,
    rows.map((row) => unwrapRow(row, master, previous?.byId)),
    previous,
  );
}

/**
 * Opens the keyring: loads the master key (refusing a missing, invalid or wrong one with a
 * coded {@link KeyringUnavailableError} naming its source), creates the first keys on an
 * empty keyring, unwraps every key, and starts the refresh timer.
 */
export async function openKeyring(options: KeyringOptions): Promise<Keyring> {
  const { database, config, logger } = options;
  const master = await loadMasterKey(config, logger);
  if (options.createIfEmpty !== false) {
    const created = await createMissingKeys(database.db, master);
    if (created.length > 0) logger.info({ keys: created.map((k) => `${k.kind} ${k.id}`), masterKey: master.source }, 'created the first keys of the keyring');
  }
  let ring = await load(database, master);
  let inFlight: Promise<boolean> | undefined;

  const refresh = (force = false): Promise<boolean> => {
    inFlight ??= (async () => {
      try {
        if (!force && (await readRevision(database.db)) === ring.revision) return false;
        ring = await load(database, master, ring);
        return true;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  const timer = setInterval(() => {
    refresh().catch((err: unknown) => logger.error(describeForLog(err), 'the keyring could not be refreshed; the keys loaded before are kept'));
  }, config.keyringRefreshSeconds * 1000);
  timer.unref();

  const fail = () => new DecryptionFailedError();
  return {
    masterKey: master,
    database,
    get primaryKeyId() {
      return ring.primary.data.id;
    },
    seal(plaintext: string): Sealed {
      if (typeof plaintext !== 'string') throw new TypeError('seal() takes a string');
      const key = ring.primary.data;
      return { token: ring.fernets.get(key.id)!.encrypt(plaintext), keyId: key.id };
    },
    open(stored) {
      const { token, keyId } = stored;
      if (typeof token !== 'string' || token.length === 0) throw fail();
      const current = ring;
      if (keyId !== null && !current.byId.has(keyId)) void refresh().catch(() => {}); // a key made elsewhere since the last refresh
      // The key the value names first (even a retired one: it is only ever named by its own values), then the MultiFernet order.
      const named = keyId !== null && current.fernets.has(keyId) ? [keyId] : [];
      for (const id of new Set([...named, current.primary.data.id, ...current.fallbacks])) {
        try {
          return current.fernets.get(id)!.decrypt(token);
        } catch (err) {
          if (!(err instanceof FernetError)) throw err;
        }
      }
      throw fail();
    },
    blindIndex(value) {
      const key = ring.primary.blind_index;
      return `${key.version}:${hmac(key.material, value).toString('base64url')}`;
    },
    blindIndexes(value) {
      return ring.blindKeys.map((key) => `${key.version}:${hmac(key.material, value).toString('base64url')}`);
    },
    hashCode(code) {
      const key = ring.primary.code;
      return `${key.version}:${hmac(key.material, code).toString('hex')}`;
    },
    matchesCode(code, stored) {
      const match = CODE_HASH.exec(stored);
      const key = match ? ring.codeKeys.get(Number(match[1])) : undefined;
      // Unknown versions still cost one HMAC, so that the answer's timing says nothing.
      const expected = hmac(key?.material ?? ring.primary.code.material, code);
      const given = Buffer.from(match?.[2] ?? '00'.repeat(32), 'hex');
      return timingSafeEqual(expected, given) && key !== undefined && key.state !== 'retired';
    },
    keys() {
      return [...ring.byId.values()].map(({ material: _m, wrappedKey: _w, ...info }) => info);
    },
    refresh,
    close() {
      clearInterval(timer);
    },
  };
}
