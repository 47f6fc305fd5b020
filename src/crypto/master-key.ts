/**
 * The master key, which wraps every key of the keyring (src/crypto/keyring.ts) before it is
 * stored. It comes from exactly one place, which errors name (never the key itself):
 *
 * - `MASTER_KEY`: base64 of 32 bytes; keys are wrapped with AES-256-GCM;
 * - `MASTER_KEY_FILE`: a file holding the same;
 * - `MASTER_KEY_RSA_PRIVATE_KEY_FILE`: a PEM RSA private key; keys are wrapped with its public
 *   key (RSA-OAEP, SHA-256), as the old app's RSA key storage did;
 * - none of them outside production: a key file generated once under DATA_DIR (0600,
 *   created exclusively, so a second process never overwrites the first one's key).
 *
 * Wrapping binds the row's identity (`aad`: id, kind, version) to the wrapped bytes: GCM's
 * associated data, OAEP's label. A row edited, truncated or swapped with another does not unwrap.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  constants,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import { KeyringUnavailableError } from '../errors.ts';
import { ensurePrivateDir, writePrivateFile } from '../fs/private.ts';

/** Name of the development master-key file under DATA_DIR. */
export const DEV_MASTER_KEY_FILE = 'master-key';

export interface MasterKey {
  /** Where the key came from, for messages: `MASTER_KEY (environment)`, `MASTER_KEY_FILE /path`… Never the key. */
  readonly source: string;
  /** `aes-256-gcm` or `rsa-oaep-sha256`. */
  readonly wrapping: string;
  /** A fingerprint stored with each wrapped key: a different master key has a different one. Reveals nothing of the key. */
  readonly fingerprint: string;
  wrap(key: Buffer, aad: string): string;
  /** Unwraps, or throws (any error: the caller reports a damaged row). */
  unwrap(wrapped: string, aad: string): Buffer;
}

/** What {@link loadMasterKey} tells the operator (a pino logger fits). */
export interface MasterKeyLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

const invalid = (source: string, why: string) => new KeyringUnavailableError('MASTER_KEY_INVALID', `The master key from ${source} ${why}.`);

function decode32(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed) || bytes.length !== 32) throw invalid(source, 'is not base64 of 32 bytes');
  return bytes;
}

/** AES-256-GCM wrapping: base64 of IV (12) ‖ ciphertext ‖ tag (16). */
function symmetric(key: Buffer, source: string): MasterKey {
  return {
    source,
    wrapping: 'aes-256-gcm',
    fingerprint: createHmac('sha256', key).update('strongroom master key fingerprint').digest('hex').slice(0, 16),
    wrap(plain, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
    },
    unwrap(wrapped, aad) {
      const raw = Buffer.from(wrapped, 'base64');
      if (raw.length < 12 + 16 + 1) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12)).setAAD(Buffer.from(aad));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    },
  };
}

/** RSA-OAEP (SHA-256) wrapping with the row's identity as the OAEP label. */
function rsa(pem: string, source: string): MasterKey {
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw invalid(source, 'is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw invalid(source, 'is not an RSA private key of 2048 bits or more');
  }
  const publicKey = createPublicKey(privateKey);
  const oaep = (aad: string) => ({ padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(aad) });
  return {
    source,
    wrapping: 'rsa-oaep-sha256',
    fingerprint: createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex')
      .slice(0, 16),
    wrap: (plain, aad) => publicEncrypt({ key: publicKey, ...oaep(aad) }, plain).toString('base64'),
    unwrap: (wrapped, aad) => privateDecrypt({ key: privateKey, ...oaep(aad) }, Buffer.from(wrapped, 'base64')),
  };
}

async function readKeyFile(file: string, source: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyringUnavailableError('MASTER_KEY_MISSING', `The master key file ${source} cannot be read (${code ?? 'error'}).`);
  }
}

/**
 * Loads the master key the configuration names. Outside production with none named, reads
 * DATA_DIR/master-key, creating it (exclusively, 0600) on first start and logging that it did.
 */
export async function loadMasterKey(
  config: Pick<Config, 'masterKey' | 'masterKeyFile' | 'masterKeyRsaPrivateKeyFile' | 'nodeEnv' | 'dataDir'>,
  log: MasterKeyLog,
): Promise<MasterKey> {
  if (config.masterKey !== undefined) return symmetric(decode32(config.masterKey, 'MASTER_KEY (environment)'), 'MASTER_KEY (environment)');
  if (config.masterKeyFile !== undefined) {
    const source = `MASTER_KEY_FILE ${config.masterKeyFile}`;
    return symmetric(decode32(await readKeyFile(config.masterKeyFile, source), source), source);
  }
  if (config.masterKeyRsaPrivateKeyFile !== undefined) {
    const source = `MASTER_KEY_RSA_PRIVATE_KEY_FILE ${config.masterKeyRsaPrivateKeyFile}`;
    return rsa(await readKeyFile(config.masterKeyRsaPrivateKeyFile, source), source);
  }
  if (config.nodeEnv === 'production') {
    throw new KeyringUnavailableError(
      'MASTER_KEY_MISSING',
      'No master key: set MASTER_KEY, MASTER_KEY_FILE or MASTER_KEY_RSA_PRIVATE_KEY_FILE (production never generates one).',
    );
  }
  const file = path.join(config.dataDir, DEV_MASTER_KEY_FILE);
  const source = `the development key file ${file}`;
  await ensurePrivateDir(config.dataDir);
  try {
    await writePrivateFile(file, `${randomBytes(32).toString('base64')}\n`, { exclusive: true });
    log.warn({ file }, 'generated a master key file for development: back it up with the database, and set MASTER_KEY or MASTER_KEY_FILE in production');
  } catch (err) {
    // EEXIST: an earlier start (or another process starting now) made it; use that one.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return symmetric(decode32(await readKeyFile(file, source), source), source);
}
