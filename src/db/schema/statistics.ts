/**
 * Rollups of licence events (schema `reporting`, data database): counts per time bucket and
 * series, kept current by a statement-level trigger on `licensing.licence_events` (see the
 * custom migration `drizzle/data/*_licence_event_rollups_trigger.sql` and README "Dashboard
 * statistics"). A dashboard query reads O(weeks) rows of these instead of O(events) events.
 */
import { sql } from 'drizzle-orm';
import { bigint, integer, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { reporting } from './reporting.ts';

/**
 * One (application, source, kind) combination that events have had. Rollups refer to it by
 * id, so their rows and index entries stay narrow (a few fixed-width columns, not three texts).
 */
export const licenceEventSeries = reporting.table(
  'licence_event_series',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    application: text('application').notNull(),
    source: text('source').notNull(),
    kind: text('kind').notNull(),
  },
  (t) => [uniqueIndex('licence_event_series_key').on(t.application, t.source, t.kind)],
);

/**
 * Events per series in one UTC bucket: weeks (604800 s, Monday 00:00 UTC) and six hours
 * (21600 s) for all time; hours (3600 s) only from Sunday 06:00 to Monday 12:00 UTC, where
 * local week boundaries of every current time zone fall. All buckets are aligned to
 * 2000-01-03T00:00Z (a Monday), so they nest. A count may be 0 after deletes.
 */
export const licenceEventRollups = reporting.table(
  'licence_event_rollups',
  {
    bucketSeconds: integer('bucket_seconds').notNull(),
    bucketStart: timestamp('bucket_start', { withTimezone: true }).notNull(),
    /** licence_event_series.id; no foreign key: a check per rollup row would cost every write. */
    series: integer('series').notNull(),
    events: bigint('events', { mode: 'number' }).notNull().default(sql`0`),
  },
  (t) => [primaryKey({ name: 'licence_event_rollups_pkey', columns: [t.bucketSeconds, t.bucketStart, t.series] })],
);
