CREATE SCHEMA "licensing";
--> statement-breakpoint
CREATE SCHEMA "reporting";
--> statement-breakpoint
CREATE TYPE "reporting"."report_job_status" AS ENUM('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TABLE "licensing"."licence_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "licensing"."licence_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"licence_id" uuid NOT NULL,
	"application" text NOT NULL,
	"source" text NOT NULL,
	"kind" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "licensing"."licences" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"username" text NOT NULL,
	"application" text NOT NULL,
	"unique_id" text NOT NULL,
	"licence_key" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "licences_unique_id_unique" UNIQUE("unique_id"),
	CONSTRAINT "licences_username_application_key" UNIQUE("username","application")
);
--> statement-breakpoint
CREATE TABLE "reporting"."report_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" "reporting"."report_job_status" DEFAULT 'QUEUED' NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"error" jsonb,
	"output" "bytea",
	"output_type" text
);
--> statement-breakpoint
ALTER TABLE "licensing"."licence_events" ADD CONSTRAINT "licence_events_licence_id_licences_id_fk" FOREIGN KEY ("licence_id") REFERENCES "licensing"."licences"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "licence_events_occurred_at_idx" ON "licensing"."licence_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "licence_events_application_occurred_at_idx" ON "licensing"."licence_events" USING btree ("application","occurred_at");--> statement-breakpoint
CREATE INDEX "licence_events_licence_id_idx" ON "licensing"."licence_events" USING btree ("licence_id");--> statement-breakpoint
CREATE INDEX "report_jobs_owner_created_idx" ON "reporting"."report_jobs" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "report_jobs_status_idx" ON "reporting"."report_jobs" USING btree ("status");