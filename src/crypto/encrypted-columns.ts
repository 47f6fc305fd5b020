/**
 * Every encrypted column Strongroom keeps, in one list: key rotation (`npm run keys -- rotate`),
 * the step that seals values still stored in the clear, `keys list`'s counts and the test that
 * scans both databases for secrets in the clear all walk this list, so a new secret column is
 * added here and nowhere else.
 *
 * Each column stores a Fernet token beside `<column>_key_id` (see src/crypto/field-cipher.ts).
 */
export interface EncryptedColumn {
  /** Which logical database holds the table. */
  readonly database: 'auth' | 'data';
  /** Schema-qualified table, e.g. `licensing.licences`. */
  readonly table: string;
  /** The primary-key column rows are batched by. */
  readonly idColumn: string;
  /** The column holding the Fernet token (nullable columns hold NULL for "no secret"). */
  readonly column: string;
  /** The column holding the id of the data key that made the token. */
  readonly keyIdColumn: string;
  /** A blind-index column kept beside it, recomputed when the blind-index key rotates. */
  readonly blindIndexColumn?: string;
}

export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  // Licence keys (services/licences.ts); looked up by key through the blind index.
  {
    database: 'data',
    table: 'licensing.licences',
    idColumn: 'id',
    column: 'licence_key',
    keyIdColumn: 'licence_key_key_id',
    blindIndexColumn: 'licence_key_index',
  },
];

/** A column of HMAC'd codes (`FieldCipher.hashCode`: `"<version>:<hex>"`), so that a code key is not retired while codes still use it. */
export interface CodeHashColumn {
  readonly database: 'auth' | 'data';
  /** Schema-qualified table, e.g. `auth.recovery_codes`. */
  readonly table: string;
  readonly column: string;
}

/** Every column holding code hashes made under a keyring code key. */
export const CODE_HASH_COLUMNS: readonly CodeHashColumn[] = [];
