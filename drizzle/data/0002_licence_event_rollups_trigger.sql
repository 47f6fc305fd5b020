-- Rollups of licensing.licence_events kept current by statement-level triggers with
-- transition tables: one set-based pass per statement, whatever wrote the rows (a single
-- INSERT, INSERT … SELECT, COPY, a DELETE cascading from licensing.licences, an UPDATE).
-- The counts are written in the writer's transaction, so a query sees exactly the events
-- that are committed (or its own). Levels and the hour window must match
-- src/services/statistics/buckets.ts (a test compares them).

-- Adds signed counts per (hour, series) to every rollup level:
--   604800 s  weeks starting Monday 00:00 UTC, all time;
--    21600 s  six hours, all time;
--     3600 s  hours, only from Sunday 06:00 to Monday 12:00 UTC (where the local week
--             boundaries of UTC-12 … UTC+14 fall, ±3 h).
-- Rows are written in key order, so concurrent writers lock shared rows in the same order
-- and never deadlock each other within one statement.
CREATE FUNCTION "reporting"."add_licence_event_counts"(p_hour timestamptz[], p_series integer[], p_events bigint[])
RETURNS void
LANGUAGE sql
AS $$
  INSERT INTO reporting.licence_event_rollups AS r (bucket_seconds, bucket_start, series, events)
  SELECT d.bucket_seconds, d.bucket_start, d.series, sum(d.events)
    FROM (
      SELECT 3600 AS bucket_seconds, u.h AS bucket_start, u.s AS series, u.n AS events
        FROM unnest(p_hour, p_series, p_events) AS u(h, s, n)
       WHERE (u.h + interval '18 hours') - date_bin('7 days', u.h + interval '18 hours', timestamptz '2000-01-03 00:00:00+00') < interval '30 hours'
      UNION ALL
      SELECT 21600, date_bin('6 hours', u.h, timestamptz '2000-01-03 00:00:00+00'), u.s, u.n
        FROM unnest(p_hour, p_series, p_events) AS u(h, s, n)
      UNION ALL
      SELECT 604800, date_bin('7 days', u.h, timestamptz '2000-01-03 00:00:00+00'), u.s, u.n
        FROM unnest(p_hour, p_series, p_events) AS u(h, s, n)
    ) AS d
   GROUP BY 1, 2, 3
  HAVING sum(d.events) <> 0
   ORDER BY 1, 2, 3
  ON CONFLICT (bucket_seconds, bucket_start, series) DO UPDATE SET events = r.events + excluded.events
$$;
--> statement-breakpoint
-- New events: their (application, source, kind) combinations are registered first (only the
-- missing ones, so the identity sequence is not spent on every write), then counted per hour.
-- Transition tables are visible only to the trigger function itself, hence the repetition below.
CREATE FUNCTION "reporting"."licence_events_rollup_insert"()
RETURNS trigger
LANGUAGE plpgsql
SET work_mem = '32MB'
AS $$
BEGIN
  INSERT INTO reporting.licence_event_series (application, source, kind)
  SELECT DISTINCT n.application, n.source, n.kind
    FROM new_rows AS n
   WHERE NOT EXISTS (
           SELECT 1 FROM reporting.licence_event_series AS s
            WHERE s.application = n.application AND s.source = n.source AND s.kind = n.kind)
   ORDER BY 1, 2, 3
  ON CONFLICT DO NOTHING;
  PERFORM reporting.add_licence_event_counts(array_agg(h.hour), array_agg(h.series), array_agg(h.events))
     FROM (
       SELECT date_bin('1 hour', n.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS hour, s.id AS series, count(*) AS events
         FROM new_rows AS n
         JOIN reporting.licence_event_series AS s ON s.application = n.application AND s.source = n.source AND s.kind = n.kind
        GROUP BY 1, 2
     ) AS h;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "reporting"."licence_events_rollup_delete"()
RETURNS trigger
LANGUAGE plpgsql
SET work_mem = '32MB'
AS $$
BEGIN
  -- A cascade from licensing.licences runs one DELETE per licence: most find no events.
  IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
    RETURN NULL;
  END IF;
  PERFORM reporting.add_licence_event_counts(array_agg(h.hour), array_agg(h.series), array_agg(h.events))
     FROM (
       SELECT date_bin('1 hour', o.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS hour, s.id AS series, -count(*) AS events
         FROM old_rows AS o
         JOIN reporting.licence_event_series AS s ON s.application = o.application AND s.source = o.source AND s.kind = o.kind
        GROUP BY 1, 2
     ) AS h;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "reporting"."licence_events_rollup_update"()
RETURNS trigger
LANGUAGE plpgsql
SET work_mem = '32MB'
AS $$
BEGIN
  INSERT INTO reporting.licence_event_series (application, source, kind)
  SELECT DISTINCT n.application, n.source, n.kind
    FROM new_rows AS n
   WHERE NOT EXISTS (
           SELECT 1 FROM reporting.licence_event_series AS s
            WHERE s.application = n.application AND s.source = n.source AND s.kind = n.kind)
   ORDER BY 1, 2, 3
  ON CONFLICT DO NOTHING;
  -- Old rows count -1 and new rows +1; an update that changes none of the counted columns nets 0.
  PERFORM reporting.add_licence_event_counts(array_agg(h.hour), array_agg(h.series), array_agg(h.events))
     FROM (
       SELECT date_bin('1 hour', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS hour, s.id AS series, sum(c.sign) AS events
         FROM (
           SELECT n.application, n.source, n.kind, n.occurred_at, 1 AS sign FROM new_rows AS n
           UNION ALL
           SELECT o.application, o.source, o.kind, o.occurred_at, -1 FROM old_rows AS o
         ) AS c
         JOIN reporting.licence_event_series AS s ON s.application = c.application AND s.source = c.source AND s.kind = c.kind
        GROUP BY 1, 2
       HAVING sum(c.sign) <> 0
     ) AS h;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "reporting"."licence_events_rollup_truncate"()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  TRUNCATE reporting.licence_event_rollups;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "licence_events_rollup_insert" AFTER INSERT ON "licensing"."licence_events"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "reporting"."licence_events_rollup_insert"();
--> statement-breakpoint
CREATE TRIGGER "licence_events_rollup_delete" AFTER DELETE ON "licensing"."licence_events"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "reporting"."licence_events_rollup_delete"();
--> statement-breakpoint
CREATE TRIGGER "licence_events_rollup_update" AFTER UPDATE ON "licensing"."licence_events"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "reporting"."licence_events_rollup_update"();
--> statement-breakpoint
CREATE TRIGGER "licence_events_rollup_truncate" AFTER TRUNCATE ON "licensing"."licence_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "reporting"."licence_events_rollup_truncate"();
--> statement-breakpoint
-- Events recorded before this migration.
INSERT INTO reporting.licence_event_series (application, source, kind)
SELECT DISTINCT application, source, kind FROM licensing.licence_events ORDER BY 1, 2, 3;
--> statement-breakpoint
SELECT reporting.add_licence_event_counts(array_agg(h.hour), array_agg(h.series), array_agg(h.events))
  FROM (
    SELECT date_bin('1 hour', e.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS hour, s.id AS series, count(*) AS events
      FROM licensing.licence_events AS e
      JOIN reporting.licence_event_series AS s ON s.application = e.application AND s.source = e.source AND s.kind = e.kind
     GROUP BY 1, 2
  ) AS h;
