/** Tables of the `auth` schema (auth database). Code for the data database never imports this file. */
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const auth = pgSchema('auth');

const at = (name: string) => timestamp(name, { withTimezone: true });

/** Roles, weakest first; `@auth(role:)` admits a role and every stronger one. */
export const userRole = auth.enum('user_role', ['USER', 'ANALYST', 'ADMIN']);

/** People who sign in. Email is unique without regard to case. */
export const users = auth.table(
  'users',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    email: text('email').notNull(),
    username: text('username').notNull(),
    role: userRole('role').notNull().default('USER'),
    /** `pbkdf2-sha512$<iterations>$<salt>$<hash>` (see src/crypto/passwords.ts). */
    passwordHash: text('password_hash').notNull(),
    disabled: boolean('disabled').notNull().default(false),
    /** Base32 TOTP secret once enrolment is confirmed. To be encrypted by the key store. */
    totpSecret: text('totp_secret'),
    /** Secret handed out by enrollTotp, waiting for confirmTotp. */
    totpPendingSecret: text('totp_pending_secret'),
    /** Last TOTP time step accepted: a code is never accepted twice (RFC 6238 §5.2). */
    totpLastStep: bigint('totp_last_step', { mode: 'number' }),
    /** Whether challenges mail a code; only a user with TOTP may turn it off. */
    emailCodesEnabled: boolean('email_codes_enabled').notNull().default(true),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`), uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`)],
);

/** An IP address or device a user has passed the second step from; remembered until `verifiedUntil`. */
export const knownOrigins = auth.table(
  'known_origins',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** `IP` or `DEVICE`. */
    kind: text('kind').notNull(),
    /** The IP address, or the device's hash (`deviceIdHash`: the device id itself is never stored). */
    value: text('value').notNull(),
    /** The device's label as the client gave it, shown in mail and the audit log. */
    label: text('label'),
    firstSeenAt: at('first_seen_at').notNull().defaultNow(),
    lastSeenAt: at('last_seen_at').notNull().defaultNow(),
    verifiedAt: at('verified_at').notNull(),
    verifiedUntil: at('verified_until').notNull(),
  },
  (t) => [uniqueIndex('known_origins_user_kind_value_key').on(t.userId, t.kind, t.value)],
);

/** A signed-in session: what refresh tokens and access tokens (`sid`) belong to. */
export const sessions = auth.table(
  'sessions',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    ip: text('ip').notNull(),
    /** The device's hash (`deviceIdHash`), never the id. */
    deviceId: text('device_id').notNull(),
    /** When the session last passed the second step; null until it has. */
    secondFactorAt: at('second_factor_at'),
    /** How it last passed it: `EMAIL`, `TOTP`, `RECOVERY_CODE`, or `REMEMBERED` (a remembered IP and device). */
    secondFactorChannel: text('second_factor_channel'),
    createdAt: at('created_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
    revokedReason: text('revoked_reason'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/** Opaque refresh tokens, stored as SHA-256. One is current per session; spent ones stay to detect reuse. */
export const refreshTokens = auth.table(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: at('created_at').notNull().defaultNow(),
    /** Set when rotated; presenting it again revokes the session. */
    spentAt: at('spent_at'),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId)],
);

/** A second-step challenge; see src/services/auth/challenge-state.ts for its states. */
export const challenges = auth.table(
  'challenges',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** `NEW_IP`, `NEW_DEVICE` or `STEP_UP`. */
    reason: text('reason').notNull(),
    ip: text('ip').notNull(),
    /** The device's hash (`deviceIdHash`), never the id. */
    deviceId: text('device_id').notNull(),
    deviceLabel: text('device_label'),
    /** SHA-256 of challenge id and emailed code; replaced on resend. */
    codeHash: text('code_hash').notNull(),
    /** `SENT` or `FAILED`: whether the last code mail reached the mail server; `NOT_SENT` when email codes are off. */
    delivery: text('delivery').notNull(),
    /** Whether the new-sign-in notice reached the mail server (retried on resend). */
    noticeSent: boolean('notice_sent').notNull().default(false),
    attempts: integer('attempts').notNull().default(0),
    /** `PENDING`, `VERIFIED` or `FAILED`; a pending one past `expiresAt` is expired. */
    status: text('status').notNull().default('PENDING'),
    createdAt: at('created_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    finishedAt: at('finished_at'),
  },
  (t) => [index('challenges_user_idx').on(t.userId)],
);

/** One-time recovery codes, stored as SHA-256. */
export const recoveryCodes = auth.table(
  'recovery_codes',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: at('used_at'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('recovery_codes_user_idx').on(t.userId)],
);

/**
 * Token signing keys (JWK). The private key is stored as JWK JSON here so that every API
 * process signs with the same keys; it is to be encrypted by the key store once that exists.
 */
export const signingKeys = auth.table('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  privateJwk: text('private_jwk').notNull(),
  createdAt: at('created_at').notNull().defaultNow(),
  /** No longer signs after this; still verifies until every token it signed has expired. */
  retiredAt: at('retired_at'),
});

/** Security events, newest last; read by admins through `auditLog`. */
export const auditLog = auth.table(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    occurredAt: at('occurred_at').notNull().defaultNow(),
    event: text('event').notNull(),
    userId: uuid('user_id'),
    email: text('email'),
    ip: text('ip'),
    /** The device's hash (`deviceIdHash`), for telling events of one device apart; never shown. */
    deviceId: text('device_id'),
    /** The device's label as the client gave it: what admins see. */
    deviceLabel: text('device_label'),
    detail: jsonb('detail').notNull().default({}),
  },
  (t) => [index('audit_log_user_idx').on(t.userId)],
);

/** What a keyring key is for (src/crypto/keyring.ts). */
export const keyKind = auth.enum('key_kind', ['data', 'blind_index', 'code']);

/** A key's state: the primary of its kind is the one that seals (or indexes, or hashes); active keys still open; retired keys do nothing. */
export const keyState = auth.enum('key_state', ['primary', 'active', 'retired']);

/**
 * The keyring: data keys (Fernet), blind-index keys and code-HMAC keys, each stored wrapped
 * by the master key (AES-256-GCM, or RSA-OAEP with SHA-256), never in the clear. The row's
 * id, kind and version are bound to the wrapped bytes (GCM associated data, OAEP label), so
 * a row that is truncated, edited or swapped with another does not unwrap.
 */
export const keyringKeys = auth.table(
  'keyring_keys',
  {
    /** Stored beside every value the key seals (`<column>_key_id`). */
    id: text('id').primaryKey(),
    kind: keyKind('kind').notNull(),
    /** 1, 2, 3… per kind; blind indexes and code hashes carry it as their `<version>:` prefix. */
    version: integer('version').notNull(),
    state: keyState('state').notNull(),
    /** `aes-256-gcm` or `rsa-oaep-sha256`. */
    wrapping: text('wrapping').notNull(),
    /** Fingerprint of the master key that wrapped it: tells a wrong master key from a damaged row. */
    wrappedBy: text('wrapped_by').notNull(),
    /** The wrapped key, base64. */
    wrappedKey: text('wrapped_key').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('keyring_keys_kind_version_key').on(t.kind, t.version),
    // At most one primary per kind, even when two processes start on an empty keyring at once.
    uniqueIndex('keyring_keys_one_primary_key').on(t.kind).where(sql`${t.state} = 'primary'`),
  ],
);
