/** Tables of the `licensing` schema (data database). */
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, pgSchema, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

export const licensing = pgSchema('licensing');

/** A licence granted to a user for one application. */
export const licences = licensing.table(
  'licences',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    username: text('username').notNull(),
    application: text('application').notNull(),
    /** The public identifier printed on the licence; unique across all licences. */
    uniqueId: text('unique_id').notNull().unique(),
    /**
     * The licence key as a Fernet token (src/crypto/field-cipher.ts), sealed by
     * services/licensing, the one write path. A row with a null key id still holds the key in the
     * clear from before 0004: the sealing step of `npm run keys` encrypts it, and until then
     * reading it fails closed (DECRYPTION_FAILED).
     */
    licenceKey: text('licence_key').notNull(),
    /** Id of the data key that made `licence_key`; null until the row is sealed. */
    licenceKeyKeyId: text('licence_key_key_id'),
    /** Blind index of the key (`FieldCipher.blindIndex`), for lookups by key without decrypting; unique. */
    licenceKeyIndex: text('licence_key_index').unique('licences_licence_key_index_unique'),
    active: boolean('active').notNull().default(true),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('licences_username_application_key').on(t.username, t.application),
    // The keyset of the `licences` connection: pages ordered by (created_at, id).
    index('licences_created_at_id_idx').on(t.createdAt, t.id),
  ],
);

/** Something that happened to a licence (activation, check, renewal…); reports count these. */
export const licenceEvents = licensing.table(
  'licence_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    licenceId: uuid('licence_id')
      .notNull()
      .references(() => licences.id, { onDelete: 'cascade' }),
    application: text('application').notNull(),
    source: text('source').notNull(),
    kind: text('kind').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('licence_events_occurred_at_idx').on(t.occurredAt),
    index('licence_events_application_occurred_at_idx').on(t.application, t.occurredAt),
    index('licence_events_licence_id_idx').on(t.licenceId),
  ],
);
