CREATE TYPE "auth"."key_kind" AS ENUM('data', 'blind_index', 'code');--> statement-breakpoint
CREATE TYPE "auth"."key_state" AS ENUM('primary', 'active', 'retired');--> statement-breakpoint
CREATE TABLE "auth"."keyring_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" "auth"."key_kind" NOT NULL,
	"version" integer NOT NULL,
	"state" "auth"."key_state" NOT NULL,
	"wrapping" text NOT NULL,
	"wrapped_by" text NOT NULL,
	"wrapped_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "keyring_keys_kind_version_key" ON "auth"."keyring_keys" USING btree ("kind","version");--> statement-breakpoint
CREATE UNIQUE INDEX "keyring_keys_one_primary_key" ON "auth"."keyring_keys" USING btree ("kind") WHERE "auth"."keyring_keys"."state" = 'primary';