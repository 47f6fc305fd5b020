ALTER TABLE "auth"."signing_keys" ADD COLUMN "private_jwk_key_id" text;--> statement-breakpoint
ALTER TABLE "auth"."users" ADD COLUMN "totp_secret_key_id" text;--> statement-breakpoint
ALTER TABLE "auth"."users" ADD COLUMN "totp_pending_secret_key_id" text;