/**
 * The stored form of a licence: field rules, generated ids and keys, sealing the key, and the
 * translation of unique violations into CONFLICT. Pure helpers of services/licences.ts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import type { Secret } from '../../crypto/secret.ts';
import type { licences } from '../../db/schema/licensing.ts';
import { uniqueViolation } from '../../db/postgres-error.ts';
import { BadUserInputError, ConflictError } from '../../errors.ts';

/** Longest username, application, unique id or key, in characters. */
export const MAX_FIELD_LENGTH = 200;

/** A licence as the service hands it out: everything but the key, which stays sealed until {@link LicenceService.revealKey}. */
export interface LicenceRecord {
  readonly id: string;
  readonly username: string;
  readonly application: string;
  readonly uniqueId: string;
  readonly active: boolean;
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** The stored key: a Fernet token and the id of the data key that made it (null: never sealed). */
  readonly sealedKey: { readonly token: string; readonly keyId: string | null };
}

export type LicenceRow = typeof licences.$inferSelect;

export const toRecord = (row: LicenceRow): LicenceRecord => ({
  id: row.id,
  username: row.username,
  application: row.application,
  uniqueId: row.uniqueId,
  active: row.active,
  expiresAt: row.expiresAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  sealedKey: { token: row.licenceKey, keyId: row.licenceKeyKeyId },
});

/** `value` trimmed; BAD_USER_INPUT naming `field` when it is empty or longer than {@link MAX_FIELD_LENGTH}. */
export function required(value: string | undefined | null, field: string): string {
  const v = value?.trim();
  if (!v) throw new BadUserInputError(`${field} must not be empty.`, field);
  if (v.length > MAX_FIELD_LENGTH) throw new BadUserInputError(`${field} is longer than ${MAX_FIELD_LENGTH} characters.`, field);
  return v;
}

/** The text inside a client's secret, with the same rules; the message never holds the value. */
export function revealed(secret: Secret, field: string): string {
  const value = secret.reveal();
  if (value === undefined) throw new BadUserInputError(`${field} must be a string.`, field);
  return required(value, field);
}

export function validDate(value: Date | null | undefined, field: string): Date | null {
  if (value === null || value === undefined) return null;
  if (Number.isNaN(value.getTime())) throw new BadUserInputError(`${field} is not a valid date.`, field);
  return value;
}

/** A new public identifier: `LIC-` and 16 hex digits. */
export const newUniqueId = () => `LIC-${randomBytes(8).toString('hex').toUpperCase()}`;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * A new licence key: five groups of five base32 letters (RFC 4648 alphabet, no 0/1/8/9 to
 * confuse with O/I/B/g), 125 random bits, e.g. `K7QF2-MZ4XA-…`. Easy to read out and type.
 */
export function newLicenceKey(): string {
  const groups: string[] = [];
  for (let g = 0; g < 5; g++) {
    let group = '';
    for (let i = 0; i < 5; i++) group += BASE32[randomInt(32)];
    groups.push(group);
  }
  return groups.join('-');
}

/** The three columns a licence key is stored in, sealed under the primary data key. */
export function sealKey(cipher: FieldCipher, key: string) {
  const sealed = cipher.seal(key);
  return { licenceKey: sealed.token, licenceKeyKeyId: sealed.keyId, licenceKeyIndex: cipher.blindIndex(key) };
}

/** A unique violation on licences as CONFLICT naming the field; anything else rethrown. */
export function conflict(err: unknown): never {
  const constraint = uniqueViolation(err);
  if (constraint === 'licences_username_application_key') throw new ConflictError('This user already holds a licence for this application.', 'application');
  if (constraint === 'licences_unique_id_unique') throw new ConflictError('This unique id is taken.', 'uniqueId');
  if (constraint === 'licences_licence_key_index_unique') throw new ConflictError('This licence key is taken.', 'key');
  throw err;
}
