/**
 * A FieldCipher over one known Fernet key, for tests that must hand the same key to Python
 * (`Fernet(key).decrypt(token)`) or build tokens themselves. Blind indexes are HMAC-SHA256 under
 * a fixed key, version `t1`, as the keyring makes them under its own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FieldCipher } from '../../src/crypto/field-cipher.ts';
import { Fernet, FernetError } from '../../src/crypto/fernet.ts';
import { DecryptionFailedError } from '../../src/errors.ts';

/** The Fernet key of {@link testCipher} (URL-safe base64 of 32 bytes, as Python's `Fernet.generate_key()` prints). */
export const TEST_FERNET_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const INDEX_KEY = Buffer.alloc(32, 7);

export function testCipher(fernetKey = TEST_FERNET_KEY, keyId = 'test-key'): FieldCipher {
  const fernet = new Fernet(fernetKey);
  const index = (value: string) => `t1:${createHmac('sha256', INDEX_KEY).update(value, 'utf8').digest('base64url')}`;
  const hash = (code: string) => `t1:${createHmac('sha256', INDEX_KEY).update(`code:${code}`, 'utf8').digest('hex')}`;
  return {
    primaryKeyId: keyId,
    seal: (plaintext) => ({ token: fernet.encrypt(plaintext), keyId }),
    open(stored) {
      if (stored.keyId === null) throw new DecryptionFailedError();
      try {
        return fernet.decrypt(stored.token);
      } catch (err) {
        if (err instanceof FernetError) throw new DecryptionFailedError();
        throw err;
      }
    },
    blindIndex: index,
    blindIndexes: (value) => [index(value)],
    hashCode: hash,
    matchesCode: (code, stored) => {
      const a = Buffer.from(hash(code));
      const b = Buffer.from(stored);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
