ALTER TYPE "reporting"."report_job_status" ADD VALUE 'TIMED_OUT';--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "format" text DEFAULT 'PDF' NOT NULL;--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "max_attempts" integer DEFAULT 3 NOT NULL;--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "lease_owner" text;--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "byte_size" integer;--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "page_count" integer;--> statement-breakpoint
ALTER TABLE "reporting"."report_jobs" ADD COLUMN "output_sha256" text;--> statement-breakpoint
CREATE INDEX "report_jobs_queued_idx" ON "reporting"."report_jobs" USING btree ("created_at") WHERE "reporting"."report_jobs"."status" = 'QUEUED';--> statement-breakpoint
CREATE INDEX "report_jobs_finished_idx" ON "reporting"."report_jobs" USING btree ("finished_at") WHERE "reporting"."report_jobs"."finished_at" is not null;