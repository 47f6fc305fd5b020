-- Rollups of licensing.licence_events kept current by statement-level triggers with
-- transition tables: one set-based pass per statement, whatever wrote the rows (a single
-- INSERT, INSERT … SELECT, COPY, a DELETE cascading from licensing.licences, an UPDATE).
-- The counts are written in the writer's transaction, so a query sees exactly the events
-- that are committed (or its own). The levels must match src/services/statistics/buckets.ts
-- (the tests compare them).
--
-- Two tables:
--   licence_event_rollups       per series (application, source, kind), all time:
--                                 604800 s  weeks from Monday 00:00 UTC
--                                  21600 s  six hours
--   licence_event_pair_rollups  per pair (application, source), only from Sunday 06:00 to
--                               Monday 12:00 UTC, where the local week boundaries of every
--                               zone from UTC-12 to UTC+14 fall (±3 h):
--                                  21600 s  six hours
--                                   3600 s  hours
--                                   1800 s  half hours
-- All aligned to 2000-01-03 00:00 UTC, a Monday. Each statement counts its rows per six hours
-- and series, and per half hour and pair inside the window, and adds the counts to every
-- bucket they belong to. Rows are upserted in key order (pairs, then series), so concurrent
-- writers lock shared rows in the same order and never deadlock each other.

-- The series buckets a six-hour count belongs to. Plain SQL functions like this one are inlined
-- where they are used; they are the one definition of the levels.
CREATE FUNCTION "reporting"."licence_event_buckets"(p_six timestamptz)
RETURNS TABLE (bucket_seconds integer, bucket_start timestamptz)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
  SELECT 604800, date_bin('7 days', p_six, timestamptz '2000-01-03 00:00:00+00')
  UNION ALL
  SELECT 21600, p_six
$$;
--> statement-breakpoint
-- Whether an instant lies in [Sunday 06:00, Monday 12:00) UTC, where pair buckets are kept.
CREATE FUNCTION "reporting"."licence_event_in_pair_window"(p_at timestamptz)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
  SELECT (p_at + interval '18 hours') - date_bin('7 days', p_at + interval '18 hours', timestamptz '2000-01-03 00:00:00+00') < interval '30 hours'
$$;
--> statement-breakpoint
-- The pair buckets a half-hour count (inside the window) belongs to.
CREATE FUNCTION "reporting"."licence_event_pair_buckets"(p_half timestamptz)
RETURNS TABLE (bucket_seconds integer, bucket_start timestamptz)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
  SELECT 21600, date_bin('6 hours', p_half, timestamptz '2000-01-03 00:00:00+00')
  UNION ALL
  SELECT 3600, date_bin('1 hour', p_half, timestamptz '2000-01-03 00:00:00+00')
  UNION ALL
  SELECT 1800, p_half
$$;
--> statement-breakpoint
-- New events. Their pairs and series are registered first, only the missing ones (so the
-- identity sequences are not spent on every write). Transition tables are visible only to the
-- trigger function itself, hence the repetition in the functions below.
CREATE FUNCTION "reporting"."licence_events_rollup_insert"()
RETURNS trigger
LANGUAGE plpgsql
SET work_mem = '32MB'
AS $$
BEGIN
  INSERT INTO reporting.licence_event_pairs (application, source)
  SELECT DISTINCT n.application, n.source
    FROM new_rows AS n
   WHERE NOT EXISTS (SELECT 1 FROM reporting.licence_event_pairs AS p WHERE p.application = n.application AND p.source = n.source)
   ORDER BY 1, 2
  ON CONFLICT DO NOTHING;
  INSERT INTO reporting.licence_event_series (application, source, kind, pair)
  SELECT d.application, d.source, d.kind, p.id
    FROM (
      SELECT DISTINCT n.application, n.source, n.kind
        FROM new_rows AS n
       WHERE NOT EXISTS (
               SELECT 1 FROM reporting.licence_event_series AS s
                WHERE s.application = n.application AND s.source = n.source AND s.kind = n.kind)
    ) AS d
    JOIN reporting.licence_event_pairs AS p ON p.application = d.application AND p.source = d.source
   ORDER BY 1, 2, 3
  ON CONFLICT DO NOTHING;
  WITH by_six AS MATERIALIZED (
    SELECT date_bin('6 hours', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS six, s.id AS series, count(*) AS events
      FROM new_rows AS c
      JOIN reporting.licence_event_series AS s ON s.application = c.application AND s.source = c.source AND s.kind = c.kind
     GROUP BY 1, 2
  ),
  by_series AS (
    INSERT INTO reporting.licence_event_rollups AS r (bucket_seconds, bucket_start, series, events)
    SELECT b.bucket_seconds, b.bucket_start, x.series, sum(x.events)
      FROM by_six AS x
     CROSS JOIN LATERAL reporting.licence_event_buckets(x.six) AS b
     GROUP BY 1, 2, 3
     ORDER BY 1, 2, 3
    ON CONFLICT (bucket_seconds, bucket_start, series) DO UPDATE SET events = r.events + excluded.events
  )
  INSERT INTO reporting.licence_event_pair_rollups AS r (bucket_seconds, bucket_start, pair, events)
  SELECT b.bucket_seconds, b.bucket_start, h.pair, sum(h.events)
    FROM (
      SELECT date_bin('30 minutes', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS half, p.id AS pair, count(*) AS events
        FROM new_rows AS c
        JOIN reporting.licence_event_pairs AS p ON p.application = c.application AND p.source = c.source
       WHERE reporting.licence_event_in_pair_window(c.occurred_at)
       GROUP BY 1, 2
    ) AS h
   CROSS JOIN LATERAL reporting.licence_event_pair_buckets(h.half) AS b
   GROUP BY 1, 2, 3
  HAVING sum(h.events) <> 0
   ORDER BY 1, 2, 3
  ON CONFLICT (bucket_seconds, bucket_start, pair) DO UPDATE SET events = r.events + excluded.events;
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
  WITH by_six AS MATERIALIZED (
    SELECT date_bin('6 hours', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS six, s.id AS series, -count(*) AS events
      FROM old_rows AS c
      JOIN reporting.licence_event_series AS s ON s.application = c.application AND s.source = c.source AND s.kind = c.kind
     GROUP BY 1, 2
  ),
  by_series AS (
    INSERT INTO reporting.licence_event_rollups AS r (bucket_seconds, bucket_start, series, events)
    SELECT b.bucket_seconds, b.bucket_start, x.series, sum(x.events)
      FROM by_six AS x
     CROSS JOIN LATERAL reporting.licence_event_buckets(x.six) AS b
     GROUP BY 1, 2, 3
     ORDER BY 1, 2, 3
    ON CONFLICT (bucket_seconds, bucket_start, series) DO UPDATE SET events = r.events + excluded.events
  )
  INSERT INTO reporting.licence_event_pair_rollups AS r (bucket_seconds, bucket_start, pair, events)
  SELECT b.bucket_seconds, b.bucket_start, h.pair, sum(h.events)
    FROM (
      SELECT date_bin('30 minutes', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS half, p.id AS pair, -count(*) AS events
        FROM old_rows AS c
        JOIN reporting.licence_event_pairs AS p ON p.application = c.application AND p.source = c.source
       WHERE reporting.licence_event_in_pair_window(c.occurred_at)
       GROUP BY 1, 2
    ) AS h
   CROSS JOIN LATERAL reporting.licence_event_pair_buckets(h.half) AS b
   GROUP BY 1, 2, 3
  HAVING sum(h.events) <> 0
   ORDER BY 1, 2, 3
  ON CONFLICT (bucket_seconds, bucket_start, pair) DO UPDATE SET events = r.events + excluded.events;
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
  INSERT INTO reporting.licence_event_pairs (application, source)
  SELECT DISTINCT n.application, n.source
    FROM new_rows AS n
   WHERE NOT EXISTS (SELECT 1 FROM reporting.licence_event_pairs AS p WHERE p.application = n.application AND p.source = n.source)
   ORDER BY 1, 2
  ON CONFLICT DO NOTHING;
  INSERT INTO reporting.licence_event_series (application, source, kind, pair)
  SELECT d.application, d.source, d.kind, p.id
    FROM (
      SELECT DISTINCT n.application, n.source, n.kind
        FROM new_rows AS n
       WHERE NOT EXISTS (
               SELECT 1 FROM reporting.licence_event_series AS s
                WHERE s.application = n.application AND s.source = n.source AND s.kind = n.kind)
    ) AS d
    JOIN reporting.licence_event_pairs AS p ON p.application = d.application AND p.source = d.source
   ORDER BY 1, 2, 3
  ON CONFLICT DO NOTHING;
  -- Old rows count -1 and new rows +1; an update that changes none of the counted columns nets 0.
  WITH by_six AS MATERIALIZED (
    SELECT date_bin('6 hours', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS six, s.id AS series, sum(c.sign) AS events
      FROM (SELECT application, source, kind, occurred_at, 1 AS sign FROM new_rows UNION ALL SELECT application, source, kind, occurred_at, -1 FROM old_rows) AS c
      JOIN reporting.licence_event_series AS s ON s.application = c.application AND s.source = c.source AND s.kind = c.kind
     GROUP BY 1, 2
    HAVING sum(c.sign) <> 0
  ),
  by_series AS (
    INSERT INTO reporting.licence_event_rollups AS r (bucket_seconds, bucket_start, series, events)
    SELECT b.bucket_seconds, b.bucket_start, x.series, sum(x.events)
      FROM by_six AS x
     CROSS JOIN LATERAL reporting.licence_event_buckets(x.six) AS b
     GROUP BY 1, 2, 3
     ORDER BY 1, 2, 3
    ON CONFLICT (bucket_seconds, bucket_start, series) DO UPDATE SET events = r.events + excluded.events
  )
  INSERT INTO reporting.licence_event_pair_rollups AS r (bucket_seconds, bucket_start, pair, events)
  SELECT b.bucket_seconds, b.bucket_start, h.pair, sum(h.events)
    FROM (
      SELECT date_bin('30 minutes', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS half, p.id AS pair, sum(c.sign) AS events
        FROM (SELECT application, source, kind, occurred_at, 1 AS sign FROM new_rows UNION ALL SELECT application, source, kind, occurred_at, -1 FROM old_rows) AS c
        JOIN reporting.licence_event_pairs AS p ON p.application = c.application AND p.source = c.source
       WHERE reporting.licence_event_in_pair_window(c.occurred_at)
       GROUP BY 1, 2
    ) AS h
   CROSS JOIN LATERAL reporting.licence_event_pair_buckets(h.half) AS b
   GROUP BY 1, 2, 3
  HAVING sum(h.events) <> 0
   ORDER BY 1, 2, 3
  ON CONFLICT (bucket_seconds, bucket_start, pair) DO UPDATE SET events = r.events + excluded.events;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "reporting"."licence_events_rollup_truncate"()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  TRUNCATE reporting.licence_event_rollups, reporting.licence_event_pair_rollups;
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
INSERT INTO reporting.licence_event_pairs (application, source)
SELECT DISTINCT application, source FROM licensing.licence_events ORDER BY 1, 2;
--> statement-breakpoint
INSERT INTO reporting.licence_event_series (application, source, kind, pair)
SELECT d.application, d.source, d.kind, p.id
  FROM (SELECT DISTINCT application, source, kind FROM licensing.licence_events) AS d
  JOIN reporting.licence_event_pairs AS p ON p.application = d.application AND p.source = d.source
 ORDER BY 1, 2, 3;
--> statement-breakpoint
WITH by_six AS MATERIALIZED (
  SELECT date_bin('6 hours', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS six, s.id AS series, count(*) AS events
    FROM licensing.licence_events AS c
    JOIN reporting.licence_event_series AS s ON s.application = c.application AND s.source = c.source AND s.kind = c.kind
   GROUP BY 1, 2
),
by_series AS (
  INSERT INTO reporting.licence_event_rollups AS r (bucket_seconds, bucket_start, series, events)
  SELECT b.bucket_seconds, b.bucket_start, x.series, sum(x.events)
    FROM by_six AS x
   CROSS JOIN LATERAL reporting.licence_event_buckets(x.six) AS b
   GROUP BY 1, 2, 3
   ORDER BY 1, 2, 3
  ON CONFLICT (bucket_seconds, bucket_start, series) DO UPDATE SET events = r.events + excluded.events
)
INSERT INTO reporting.licence_event_pair_rollups AS r (bucket_seconds, bucket_start, pair, events)
SELECT b.bucket_seconds, b.bucket_start, h.pair, sum(h.events)
  FROM (
    SELECT date_bin('30 minutes', c.occurred_at, timestamptz '2000-01-03 00:00:00+00') AS half, p.id AS pair, count(*) AS events
      FROM licensing.licence_events AS c
      JOIN reporting.licence_event_pairs AS p ON p.application = c.application AND p.source = c.source
     WHERE reporting.licence_event_in_pair_window(c.occurred_at)
     GROUP BY 1, 2
  ) AS h
 CROSS JOIN LATERAL reporting.licence_event_pair_buckets(h.half) AS b
 GROUP BY 1, 2, 3
HAVING sum(h.events) <> 0
 ORDER BY 1, 2, 3
ON CONFLICT (bucket_seconds, bucket_start, pair) DO UPDATE SET events = r.events + excluded.events;
