CREATE TABLE "reporting"."licence_event_pair_rollups" (
	"bucket_seconds" integer NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"pair" integer NOT NULL,
	"events" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "licence_event_pair_rollups_pkey" PRIMARY KEY("bucket_seconds","bucket_start","pair")
);
--> statement-breakpoint
CREATE TABLE "reporting"."licence_event_pairs" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "reporting"."licence_event_pairs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"application" text NOT NULL,
	"source" text NOT NULL
);
--> statement-breakpoint
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
	"kind" text NOT NULL,
	"pair" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reporting"."licence_event_series" ADD CONSTRAINT "licence_event_series_pair_licence_event_pairs_id_fk" FOREIGN KEY ("pair") REFERENCES "reporting"."licence_event_pairs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "licence_event_pairs_key" ON "reporting"."licence_event_pairs" USING btree ("application","source");--> statement-breakpoint
CREATE UNIQUE INDEX "licence_event_series_key" ON "reporting"."licence_event_series" USING btree ("application","source","kind");