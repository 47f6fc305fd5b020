-- Device ids let a sign-in skip the second step, so only their hash is kept: the same value
-- src/services/auth/device.ts deviceIdHash() computes, 'sha256:' and SHA-256 in hex of the id
-- as UTF-8. Values already in that form are left alone, so running this again changes nothing.
UPDATE "auth"."known_origins"
SET "value" = 'sha256:' || encode(sha256(convert_to("value", 'UTF8')), 'hex')
WHERE "kind" = 'DEVICE' AND "value" NOT LIKE 'sha256:%';--> statement-breakpoint
UPDATE "auth"."sessions"
SET "device_id" = 'sha256:' || encode(sha256(convert_to("device_id", 'UTF8')), 'hex')
WHERE "device_id" NOT LIKE 'sha256:%';--> statement-breakpoint
UPDATE "auth"."challenges"
SET "device_id" = 'sha256:' || encode(sha256(convert_to("device_id", 'UTF8')), 'hex')
WHERE "device_id" NOT LIKE 'sha256:%';--> statement-breakpoint
UPDATE "auth"."audit_log"
SET "device_id" = 'sha256:' || encode(sha256(convert_to("device_id", 'UTF8')), 'hex')
WHERE "device_id" IS NOT NULL AND "device_id" NOT LIKE 'sha256:%';--> statement-breakpoint
-- Earlier events showed the id; they show the device's label now, where one is known.
UPDATE "auth"."audit_log" AS a
SET "device_label" = coalesce(
  (SELECT k."label" FROM "auth"."known_origins" AS k
   WHERE k."user_id" = a."user_id" AND k."kind" = 'DEVICE' AND k."value" = a."device_id" AND k."label" IS NOT NULL LIMIT 1),
  (SELECT c."device_label" FROM "auth"."challenges" AS c
   WHERE c."user_id" = a."user_id" AND c."device_id" = a."device_id" AND c."device_label" IS NOT NULL
   ORDER BY c."created_at" DESC LIMIT 1)
)
WHERE a."device_label" IS NULL AND a."device_id" IS NOT NULL AND a."user_id" IS NOT NULL;
