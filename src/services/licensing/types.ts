/** The licence service's contract: what it takes, what it answers (implemented in services/licences.ts). */
import type { Secret } from '../../crypto/secret.ts';
import type { Database } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import type { Caller } from '../auth/caller.ts';
import type { KeyStore } from '../auth/keys.ts';
import type { RateLimits } from '../auth/rate-limits.ts';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import type { ImportTarget } from './django-import.ts';
import type { EventBatch } from './events.ts';
import type { LicenceFilter, LicencePage } from './pages.ts';
import type { LicenceRecord } from './records.ts';
import type { ValidationResult } from './validation.ts';

/** A licence as the service hands it out (the key stays sealed). */
export type Licence = LicenceRecord;

export interface NewLicence {
  readonly username: string;
  readonly application: string;
  /** The public identifier; generated (`LIC-` + 16 hex digits) when omitted. */
  readonly uniqueId?: string;
  /** The licence key; generated (five groups of five base32 letters) when omitted. */
  readonly licenceKey?: string;
  /** Default true. */
  readonly active?: boolean;
  /** Null or omitted: never expires. */
  readonly expiresAt?: Date | null;
}

/** createLicence's input: the key arrives wrapped, as the EncryptedString scalar makes it. */
export interface LicenceInput extends Omit<NewLicence, 'licenceKey'> {
  readonly key?: Secret | null;
}

/** One licence by id or by unique id, exactly one of them. */
export interface LicenceRef {
  readonly id?: string | null;
  readonly uniqueId?: string | null;
}

export interface LicenceChanges extends LicenceRef {
  readonly username?: string | null;
  readonly application?: string | null;
  readonly key?: Secret | null;
  readonly active?: boolean | null;
  /** Null: never expires; undefined: unchanged. */
  readonly expiresAt?: Date | null;
}

export interface NewLicenceEvent {
  readonly licenceId: string;
  readonly source: string;
  readonly kind: string;
  readonly occurredAt: Date;
}

export interface LicenceEvent extends NewLicenceEvent {
  readonly id: number;
  readonly application: string;
}

export interface ValidateArgs {
  readonly application: string;
  readonly key: Secret;
  readonly source: string;
  readonly nonce?: string | null;
  /** The client address the rate limit counts. */
  readonly ip: string;
}

export interface LicenceSettings {
  readonly pageMax: number;
  readonly batchWindowMs: number;
  readonly batchMax: number;
  /** Batches being written at once (the next forms meanwhile). */
  readonly batchConcurrency: number;
  readonly sourceMaxLength: number;
  readonly nonceMaxLength: number;
  /** `iss` of signed validation answers. */
  readonly issuer: string;
}

export interface LicenceServiceDeps {
  readonly database: Database;
  /** Seals and opens licence keys; the keyring in production. */
  readonly cipher: FieldCipher;
  /** The token signing keys, which sign validateLicence's answers; without them validate() is a TypeError. */
  readonly keys?: KeyStore;
  /** validateLicence's rate limit; without it, none. */
  readonly limits?: RateLimits;
  readonly logger?: Logger;
  readonly now?: () => Date;
  readonly settings?: Partial<LicenceSettings>;
}

export interface LicenceService {
  /** Creates a licence (trusted code; no event). CONFLICT on a duplicate, BAD_USER_INPUT on an empty field. */
  create(input: NewLicence): Promise<Licence>;
  /** The importer's write (src/services/licensing/django-import.ts): inserts the licences whose unique id is new, in one statement. */
  importBatch: ImportTarget['importBatch'];
  /** Creates many licences in one statement per 5000, each key sealed once; resolves to their ids in order. */
  createMany(inputs: readonly NewLicence[]): Promise<string[]>;
  /** NOT_FOUND when there is no such licence. */
  get(id: string): Promise<Licence>;
  /** Records one event; its application is the licence's. NOT_FOUND when the licence does not exist. */
  recordEvent(input: NewLicenceEvent): Promise<LicenceEvent>;
  /** Records a batch of events in one statement; resolves to the number written. */
  recordEvents(batch: EventBatch): Promise<number>;

  /** A page of licences (ANALYST). */
  list(caller: Caller, args: { filter?: LicenceFilter | null; first: number; after?: string | null }): Promise<LicencePage>;
  /** One licence by id (ANALYST); NOT_FOUND. */
  byId(caller: Caller, id: string): Promise<Licence>;
  /** The licence holding `key`, by its blind index (ANALYST); NOT_FOUND. */
  byKey(caller: Caller, key: Secret): Promise<Licence>;
  /** The licence's key in the clear (ANALYST and a passed second step); DECRYPTION_FAILED when it does not open. */
  revealKey(caller: Caller, licence: Licence): string;
  /** Creates a licence and its `created` event together (ADMIN). */
  createLicence(caller: Caller, input: LicenceInput): Promise<Licence>;
  /** Changes a licence and records `updated` together (ADMIN). */
  updateLicence(caller: Caller, changes: LicenceChanges): Promise<Licence>;
  /** Deactivates a licence and records `deactivated` together (ADMIN); an inactive one is returned unchanged. */
  deactivateLicence(caller: Caller, ref: LicenceRef): Promise<Licence>;
  /** Deletes a licence and its events (ADMIN, second step within 300 s); resolves to its id. */
  deleteLicence(caller: Caller, ref: LicenceRef): Promise<string>;
  /** Checks a key (public, rate-limited per IP); answers once its event is committed. */
  validate(args: ValidateArgs): Promise<ValidationResult>;
  /** Waits for validations under way (shutdown). */
  close(): Promise<void>;
}
