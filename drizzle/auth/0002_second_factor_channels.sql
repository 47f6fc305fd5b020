ALTER TABLE "auth"."audit_log" ADD COLUMN "device_label" text;--> statement-breakpoint
ALTER TABLE "auth"."sessions" ADD COLUMN "second_factor_channel" text;--> statement-breakpoint
ALTER TABLE "auth"."users" ADD COLUMN "email_codes_enabled" boolean DEFAULT true NOT NULL;