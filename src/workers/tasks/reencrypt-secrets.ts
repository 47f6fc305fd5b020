/**
 * Worker task `reencryptSecrets`: one batch of key rotation (src/services/secrets/rotate.ts).
 * Each stored value is decrypted with the key its row names, or failing that with another of
 * the keys given, and encrypted again under the primary key, keeping the token's timestamp
 * (as Python's `MultiFernet.rotate`). The data keys arrive in the task as plain data and
 * live only in this thread's memory for the length of the task; nothing is logged.
 */
import { Fernet, FernetError } from '../../crypto/fernet.ts';

export interface ReencryptInput {
  /** Every key that may have made a value (the non-retired keys), as URL-safe base64. */
  readonly keys: readonly { readonly id: string; readonly key: string }[];
  /** The id of the key to encrypt under; it must be among `keys`. */
  readonly primaryKeyId: string;
  readonly values: readonly { readonly token: string; readonly keyId: string }[];
}

export interface ReencryptOutput {
  /** The new token of each value, in order; null for a value no key opens (it stays as it was). */
  readonly tokens: (string | null)[];
}

/** Opens `token` with the named key first, then the others; null when none authenticates it. */
function openAny(keys: ReadonlyMap<string, Fernet>, token: string, keyId: string): { plaintext: Buffer; timestamp: number } | null {
  const named = keys.get(keyId);
  // No TTL and no clock: an old or future-dated stored token is still the value.
  const options = { now: Number.MAX_SAFE_INTEGER };
  for (const key of named ? [named, ...[...keys.values()].filter((k) => k !== named)] : keys.values()) {
    try {
      return key.open(token, options);
    } catch (err) {
      if (!(err instanceof FernetError)) throw err;
    }
  }
  return null;
}

export default async function reencryptSecrets(input: ReencryptInput): Promise<ReencryptOutput> {
  const keys = new Map(input.keys.map((k) => [k.id, new Fernet(k.key)] as const));
  const primary = keys.get(input.primaryKeyId);
  if (!primary) throw new TypeError('the primary key is not among the keys given');
  const tokens = input.values.map((value) => {
    const opened = openAny(keys, value.token, value.keyId);
    return opened === null ? null : primary.encrypt(opened.plaintext, { now: opened.timestamp });
  });
  return { tokens };
}
