/**
 * The encrypted-field seam: the one place a secret column is sealed on write and opened on
 * read, the equivalent of django-fernet-fields' `EncryptedFernetField`.
 *
 * A stored secret is two columns: `<column>`, a plain Fernet token (URL-safe base64 text, as
 * Python's `cryptography` Fernet writes it, so the old app and Python tools can decrypt it with
 * the same key), and `<column>_key_id`, the id of the data key that made it. Opening tries that
 * key first and then the keyring's other active keys (MultiFernet); a value that is not a valid
 * token of a known key is an error with code `DECRYPTION_FAILED`, never returned as it is and
 * never taken for plaintext.
 *
 * The keyring (src/crypto/keyring.ts) implements this interface over the data keys it holds
 * in process memory; services receive it and never see a key.
 */

/** A sealed value as it is stored: the Fernet token and the id of the key that made it. */
export interface Sealed {
  readonly token: string;
  readonly keyId: string;
}

export interface FieldCipher {
  /** Id of the primary data key, which {@link seal} encrypts with. */
  readonly primaryKeyId: string;
  /** Encrypts `plaintext` (UTF-8) under the primary data key. */
  seal(plaintext: string): Sealed;
  /**
   * Decrypts a stored value: with the key `keyId` names first, then every other non-retired
   * key. Throws a coded `DECRYPTION_FAILED` error (no token text in it) when no key opens it,
   * including a null `keyId` on a value that was never sealed.
   */
  open(stored: { readonly token: string; readonly keyId: string | null }): string;
  /**
   * Blind index of `value` under the current blind-index key, for lookups by value without
   * decrypting a table: `"<version>:<base64url of HMAC-SHA256>"`.
   */
  blindIndex(value: string): string;
  /**
   * Every index a lookup of `value` must try: the current one and, while a blind-index
   * rotation is under way, the previous key's too. Current first.
   */
  blindIndexes(value: string): readonly string[];
  /** HMAC-SHA256 of a short code (mailed sign-in codes, recovery codes) under the keyring's code key: `"<version>:<hex>"`. */
  hashCode(code: string): string;
  /** Whether `code` hashes to `stored` (a {@link hashCode} result) under the key version `stored` names; constant time. */
  matchesCode(code: string, stored: string): boolean;
}
