ALTER TABLE "licensing"."licences" ADD COLUMN "licence_key_key_id" text;--> statement-breakpoint
ALTER TABLE "licensing"."licences" ADD COLUMN "licence_key_index" text;--> statement-breakpoint
CREATE INDEX "licences_created_at_id_idx" ON "licensing"."licences" USING btree ("created_at","id");--> statement-breakpoint
ALTER TABLE "licensing"."licences" ADD CONSTRAINT "licences_licence_key_index_unique" UNIQUE("licence_key_index");