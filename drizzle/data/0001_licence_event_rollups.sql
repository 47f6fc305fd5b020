CREATE TABLE "reporting"."licence_event_rollups" (
	"bucket_seconds" integer NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"series" integer NOT NULL,
	"events" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "licence_event_rollups_pkey" PRIMARY KEY("bucket_seconds","bucket_start","series")
);
--> statement-breakpoint
CREATE TABLE "reporting"."licence_event_series" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "reporting"."licence_event_series_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"application" text NOT NULL,
	"source" text NOT NULL,
	"kind" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "licence_event_series_key" ON "reporting"."licence_event_series" USING btree ("application","source","kind");