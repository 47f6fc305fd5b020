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
    /** The licence key as given, trimmed; not encrypted yet (services/licences.ts `storedKey` is the one place the stored form is made). */
    licenceKey: text('licence_key').notNull(),
    active: boolean('active').notNull().default(true),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('licences_username_application_key').on(t.username, t.application)],
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
