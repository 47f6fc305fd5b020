/**
 * The only module that reads `process.env`.
 *
 * Every variable is declared once in {@link VARIABLES}: its default, its parser and a
 * line of documentation (the README table is checked against this list by a test).
 * `parseConfig` reports every problem at once; `loadConfig` prints them and exits
 * non-zero, so a mistyped deployment fails at start, not on the first request.
 */
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { TASK_KINDS } from './workers/task-kinds.ts';

export type NodeEnv = 'development' | 'test' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  /** Absolute path of the data folder (embedded database, outbox, generated dev keys). */
  readonly dataDir: string;
  /** PostgreSQL URL of the data database (schemas licensing, reporting); unset = embedded. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL URL of the auth database (schema auth); unset = same as the data database. */
  readonly authDatabaseUrl: string | undefined;
  readonly logLevel: LogLevel;
  /** Apply pending migrations when the server starts. */
  readonly migrateOnStart: boolean;
  /** Maximum connections per database pool. */
  readonly dbPoolMax: number;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** Deepest nesting of arrays and objects in a JSON request body. */
  readonly bodyMaxDepth: number;
  /** How long shutdown waits for in-flight requests, in milliseconds. */
  readonly shutdownTimeoutMs: number;
  /** Serve GraphiQL on GET /graphql to browsers. */
  readonly graphiql: boolean;
  /** Allow schema introspection. */
  readonly introspection: boolean;
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDRs); empty = none. */
  readonly trustProxy: readonly string[];
  /** How long Query.health reuses a database probe, in milliseconds; 0 = probe on every call. */
  readonly healthCacheMs: number;
  /** Bytes of log lines gathered before one write; 0 = each line written synchronously. */
  readonly logBufferBytes: number;
  /** Longest a buffered log line waits before it is written, in milliseconds. */
  readonly logFlushMs: number;
  /** Worker threads for heavy work (default: the number of CPUs). */
  readonly workerThreads: number;
  /** Heavy tasks that may wait for a free worker; one more is refused with SERVER_BUSY. */
  readonly workerMaxQueue: number;
  /** Queue depth past which operations with heavy fields are refused before they run. */
  readonly workerQueueHighWater: number;
  /** Time limit of a heavy task, queue time included, in milliseconds. */
  readonly workerTaskTimeoutMs: number;
  /** Per-kind overrides of workerTaskTimeoutMs. */
  readonly workerTaskTimeouts: Readonly<Record<string, number>>;
  /** Heap limit of each worker thread, in MB. */
  readonly workerMaxOldGenerationMb: number;
  /** Replace a worker after this many tasks; 0 = never. */
  readonly workerRecycleAfterTasks: number;
  /** Nice value added to worker threads, so the event loop wins the CPU. */
  readonly workerNice: number;
  /** Most iterations `systemSelfTest` accepts. */
  readonly selfTestMaxIterations: number;
  /** Distinct operation names the GraphQL latency metric keeps before grouping the rest as `other`. */
  readonly metricsMaxOperationNames: number;
  /** Bearer token GET /metrics requires; unset = none (then, in production, METRICS_PORT is required). */
  readonly metricsToken: string | undefined;
  /** Address of the separate /metrics listener (with METRICS_PORT). */
  readonly metricsHost: string;
  /** Port of a separate listener serving only /metrics; unset = /metrics on the main port. */
  readonly metricsPort: number | undefined;

  // --- GraphQL limits (src/graphql/limits.ts) ---
  /** Deepest field nesting of an operation (introspection subtrees excluded). */
  readonly graphqlMaxDepth: number;
  /** Aliased fields per operation, fragments counted at every spread. */
  readonly graphqlMaxAliases: number;
  /** Directives on any one field, fragment, spread, variable or operation. */
  readonly graphqlMaxDirectives: number;
  /** Lexical tokens per document (graphql-js parse maxTokens). */
  readonly graphqlMaxTokens: number;
  /** Fragment spreads per operation, each counted at every use. */
  readonly graphqlMaxFragmentSpreads: number;
  /** Fields repeating a response name already selected in their selection set, per operation. */
  readonly graphqlMaxDuplicateFields: number;
  /** Estimated cost per operation: 1 per field, times `first`/`last` or the default list size above it. */
  readonly graphqlMaxCost: number;
  /** Items assumed for a list without `first`/`last` when estimating cost. */
  readonly graphqlDefaultListSize: number;
  /** How deep list fields may nest inside `__schema`/`__type`. */
  readonly graphqlMaxIntrospectionLists: number;
  /** Operations per HTTP request; 1 = no batching. */
  readonly graphqlMaxBatch: number;
  /** Longest range `weeklyStatistics` accepts, in days (from and to included). */
  readonly statisticsMaxRangeDays: number;
  /** Most applications, and most sources, one `weeklyStatistics` call may name. */
  readonly statisticsMaxFilterValues: number;
  /** `weeklyStatistics` aggregations running in PostgreSQL at once. */
  readonly statisticsMaxConcurrent: number;
  /** `weeklyStatistics` calls that may wait for one of those slots; one more is refused with SERVER_BUSY. */
  readonly statisticsMaxWaiting: number;
  /** Most expiring licences `licenceSummary` lists (it also says how many there are). */
  readonly licenceSummaryExpiringLimit: number;

  // --- licences (src/services/licences.ts) ---
  /** Most licences one `licences` page holds. */
  readonly licencesPageMax: number;
  /** `validateLicence` calls per client address per validate window. */
  readonly rateLimitValidatePerIp: number;
  /** Length of the validateLicence rate-limit window, in seconds. */
  readonly rateLimitValidateWindowSeconds: number;
  /** How long the first validation of a batch waits for others to share its lookup and insert, in milliseconds. */
  readonly validateBatchWindowMs: number;
  /** Most validations one batch (one lookup, one insert) serves. */
  readonly validateBatchMax: number;
  /** Validation batches written at once; the calls arriving meanwhile form the next. */
  readonly validateBatchConcurrency: number;
  /** Longest `source` validateLicence accepts, in characters. */
  readonly validateSourceMaxLength: number;
  /** Longest `nonce` validateLicence accepts, in characters. */
  readonly validateNonceMaxLength: number;

  // --- sign-in and two-step verification ---
  /** Email of the admin created on first start when no admin exists. */
  readonly adminEmail: string | undefined;
  /** Password of that admin; unset in development = a random one printed once. */
  readonly adminPassword: string | undefined;
  /** Allow anyone to create an account with `signUp`. */
  readonly signupEnabled: boolean;
  /** PBKDF2-HMAC-SHA512 iterations for new password hashes (older hashes are upgraded at sign-in). */
  readonly passwordIterations: number;
  /** PBKDF2 runs at once; more wait their turn, leaving libuv threads and a core for everything else. */
  readonly passwordHashConcurrency: number;
  /** `iss` of access tokens, checked on verification. */
  readonly jwtIssuer: string;
  /** `aud` of access tokens, checked on verification. */
  readonly jwtAudience: string;
  /** Access token lifetime, in seconds. */
  readonly accessTokenTtlSeconds: number;
  /** Session (refresh token) lifetime, in days. */
  readonly sessionTtlDays: number;
  /** Age after which a new signing key replaces the current one, in days. */
  readonly signingKeyRotationDays: number;
  /** How long a process trusts its list of signing keys (and the JWKS served from it) before re-reading it, in seconds. */
  readonly signingKeyCacheSeconds: number;
  /** Rows per transaction when secrets are sealed (at start, db:migrate), rotated or re-indexed (`npm run keys -- rotate`). */
  readonly secretsBatchSize: number;
  /** Digits in an emailed sign-in code (6–8). */
  readonly signInCodeLength: number;
  /** How long a sign-in challenge and its code stay valid, in seconds. */
  readonly signInCodeTtlSeconds: number;
  /** Wrong codes allowed per challenge before it is dead. */
  readonly signInCodeMaxAttempts: number;
  /** How long a verified IP address and device are remembered, in days. */
  readonly rememberDeviceDays: number;
  /** Issuer name shown in authenticator apps. */
  readonly totpIssuer: string;
  /** smtp:// (STARTTLS when offered) or smtps:// URL with user and password; unset = .eml files in DATA_DIR/outbox. */
  readonly smtpUrl: string | undefined;
  /** From address of mail. */
  readonly mailFrom: string;
  /** Connection, greeting and socket timeout for SMTP, in milliseconds. */
  readonly smtpTimeoutMs: number;
  /** Redis URL for shared rate limits; unset = in this process's memory. */
  readonly redisUrl: string | undefined;
  /** Length of every rate-limit window, in seconds. */
  readonly rateLimitWindowSeconds: number;
  /** Sign-in attempts per email and IP address per window. */
  readonly rateLimitSignInPerEmailIp: number;
  /** Sign-in attempts per IP address per window. */
  readonly rateLimitSignInPerIp: number;
  /** Code verifications per user per window (each challenge also dies after its own attempts). */
  readonly rateLimitVerifyPerUser: number;
  /** Code resends per challenge per window. */
  readonly rateLimitResendPerChallenge: number;
  /** Failed passwords on one account from unknown origins, across every IP, before it is locked for them. */
  readonly rateLimitAccountFailures: number;
  /** The first such lock, in seconds; each further failure doubles it. */
  readonly rateLimitAccountLockSeconds: number;
  /** The longest such lock, in seconds. */
  readonly rateLimitAccountLockMaxSeconds: number;
  /** How long an account's failed passwords are counted, from the first of them, in seconds. */
  readonly rateLimitAccountWindowSeconds: number;

  // --- key store (src/crypto/keyring.ts) ---
  /** The master key, base64 of 32 bytes (standard or URL-safe alphabet); at most one of the three master-key variables. */
  readonly masterKey: string | undefined;
  /** Absolute path of a file holding the master key as base64 of 32 bytes. */
  readonly masterKeyFile: string | undefined;
  /** Absolute path of a PEM RSA private key whose key pair wraps each keyring key (RSA-OAEP, SHA-256). */
  readonly masterKeyRsaPrivateKeyFile: string | undefined;
  /** How often a process checks whether the keyring changed (a key promoted elsewhere), in seconds. */
  readonly keyringRefreshSeconds: number;

  // --- reports ---
  /** Chromium for PDF reports (PUPPETEER_EXECUTABLE_PATH, default Debian's /usr/bin/chromium). */
  readonly chromiumPath: string;
  /** Whether this API process runs the report render loop too (npm run worker always does). */
  readonly reportRendering: boolean;
  /** Reports one process renders at once (also its pages kept open in Chromium). */
  readonly reportConcurrency: number;
  /** Queued reports (all processes) past which requestReport answers SERVER_BUSY. */
  readonly reportMaxQueue: number;
  /** Time limit of one attempt at rendering a report, in milliseconds. */
  readonly reportRenderTimeoutMs: number;
  /** Attempts at a report before it is FAILED (a crashed browser or a lost render process counts one). */
  readonly reportMaxAttempts: number;
  /** How long a render process holds a job without renewing its lease, in seconds. */
  readonly reportLeaseSeconds: number;
  /** How often an idle render loop looks for queued reports, in milliseconds. */
  readonly reportPollMs: number;
  /** Chromium is replaced after this many PDFs; 0: never. */
  readonly reportChromiumRecycleAfter: number;
  /** Most seconds requestReport(waitSeconds:) waits. */
  readonly reportMaxWaitSeconds: number;
  /** Lifetime of a download URL, in seconds. */
  readonly reportDownloadTtlSeconds: number;
  /** Finished reports are deleted this many hours after they finished. */
  readonly reportRetentionHours: number;
  /** Most reports one sweep deletes. */
  readonly reportSweepBatch: number;
  /** Longest range a report may cover, in days. */
  readonly reportMaxRangeDays: number;
  /** PDF appendices merged after every weekly statistics report, by name. */
  readonly reportAppendices: readonly string[];
  /** Public base URL of the API (for download links); unset: links are relative to the API's origin. */
  readonly publicUrl: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

interface Variable<K extends keyof Config> {
  readonly key: K;
  /** Default as the user would write it in the environment; undefined = optional, no default. */
  readonly default: ((env: Env) => string | undefined) | string | undefined;
  readonly parse: (raw: string) => Config[K];
  readonly doc: string;
}

class InvalidValue extends Error {}

const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string): T => {
    if ((values as string[]).includes(raw)) return raw as T;
    throw new InvalidValue(`must be one of ${values.join(', ')}`);
  };

const integer =
  (min: number, max: number) =>
  (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new InvalidValue('must be a whole number');
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidValue(`must be between ${min} and ${max}`);
    return n;
  };

const boolean = (raw: string): boolean => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new InvalidValue('must be true or false');
};

const postgresUrl = (raw: string): string => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidValue('must be a URL such as postgres://user@host:5432/db');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidValue('must start with postgres:// or postgresql://');
  }
  return raw;
};

/** `kind=ms,kind=ms` with every kind a known task kind. */
const taskTimeouts = (raw: string): Readonly<Record<string, number>> => {
  const out: Record<string, number> = {};
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z][A-Za-z0-9]*)=(\d+)$/.exec(part);
    if (!match) throw new InvalidValue('must be a comma-separated list of kind=milliseconds, such as selfTest=5000');
    const [, kind, ms] = match as unknown as [string, string, string];
    if (!(TASK_KINDS as readonly string[]).includes(kind)) throw new InvalidValue(`names an unknown task kind; known: ${TASK_KINDS.join(', ')}`);
    const value = Number(ms);
    if (value < 1 || value > 3_600_000) throw new InvalidValue('timeouts must be between 1 and 3600000 ms');
    out[kind] = value;
  }
  return Object.freeze(out);
};

const isProduction = (env: Env) => env.NODE_ENV === 'production';

const email = (raw: string): string => {
  if (!/^[^\s@]+@[^\s@]+$/.test(raw.trim())) throw new InvalidValue('must be an email address');
  return raw.trim();
};

const urlWithScheme =
  (...schemes: string[]) =>
  (raw: string): string => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new InvalidValue(`must be a URL starting with ${schemes.join(' or ')}`);
    }
    if (!schemes.includes(url.protocol.replace(/:$/, '://'))) throw new InvalidValue(`must start with ${schemes.join(' or ')}`);
    return raw;
  };

/** A secret of at least `min` characters; the value is never echoed in a problem. */
const secret =
  (min: number) =>
  (raw: string): string => {
    if (raw.trim().length < min) throw new InvalidValue(`must be at least ${min} characters`);
    return raw.trim();
  };

const nonEmpty = (raw: string): string => {
  if (raw.trim() === '') throw new InvalidValue('must not be empty');
  return raw.trim();
};

/**
 * Comma-separated appendix names. Only their form is checked here (config loads nothing of
 * the rest of the program); the reports service refuses a name that has no file at start.
 */
const appendixList = (raw: string): readonly string[] => {
  const names = raw
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) throw new InvalidValue('must be a comma-separated list of appendix names, such as terms-of-licence');
  }
  return Object.freeze(names);
};

/** Base64 (standard or URL-safe, padded or not) of exactly 32 bytes; the value is never echoed in a problem. */
const base64Key32 = (raw: string): string => {
  const text = raw.trim();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text) || Buffer.from(text.replaceAll('-', '+').replaceAll('_', '/'), 'base64').length !== 32) {
    throw new InvalidValue('must be base64 of exactly 32 bytes (for example the output of `openssl rand -base64 32`)');
  }
  return text;
};

/** Every variable Strongroom reads, in README order. */
export const VARIABLES = {
  NODE_ENV: {
    key: 'nodeEnv',
    default: 'development',
    parse: oneOf<NodeEnv>('development', 'test', 'production'),
    doc: '`development`, `test` or `production`; production turns off GraphiQL and introspection by default',
  },
  HOST: { key: 'host', default: '127.0.0.1', parse: (raw) => raw, doc: 'Address to listen on (use `0.0.0.0` in a container)' },
  PORT: { key: 'port', default: '4000', parse: integer(0, 65535), doc: 'TCP port; 0 picks a free one' },
  DATA_DIR: {
    key: 'dataDir',
    default: './data',
    parse: (raw) => path.resolve(raw),
    doc: 'Folder for the embedded database, the mail outbox and generated development keys',
  },
  DATABASE_URL: {
    key: 'databaseUrl',
    default: undefined,
    parse: postgresUrl,
    doc: 'PostgreSQL URL of the data database (schemas `licensing`, `reporting`); unset: embedded PGlite under `DATA_DIR`',
  },
  AUTH_DATABASE_URL: {
    key: 'authDatabaseUrl',
    default: undefined,
    parse: postgresUrl,
    doc: 'PostgreSQL URL of the auth database (schema `auth`); unset: the data database holds it',
  },
  LOG_LEVEL: {
    key: 'logLevel',
    default: (env) => (env.NODE_ENV === 'test' ? 'warn' : 'info'),
    parse: oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    doc: 'pino level: `fatal` … `trace`, or `silent`',
  },
  MIGRATE_ON_START: {
    key: 'migrateOnStart',
    default: 'true',
    parse: boolean,
    doc: 'Apply pending migrations at start; when false, start refuses a database that is behind',
  },
  DB_POOL_MAX: { key: 'dbPoolMax', default: '10', parse: integer(1, 1000), doc: 'Connections per database pool' },
  BODY_LIMIT_BYTES: {
    key: 'bodyLimitBytes',
    default: String(1024 * 1024),
    parse: integer(1024, 1024 * 1024 * 1024),
    doc: 'Largest request body in bytes (1 MiB); larger gets 413',
  },
  BODY_MAX_DEPTH: {
    key: 'bodyMaxDepth',
    default: '32',
    parse: integer(2, 10_000),
    doc: 'Deepest nesting of arrays and objects in a JSON request body; deeper is refused with 400 `BAD_REQUEST` before it is parsed (deeply nested JSON costs several times more to parse per byte)',
  },
  SHUTDOWN_TIMEOUT_MS: {
    key: 'shutdownTimeoutMs',
    default: '10000',
    parse: integer(0, 600_000),
    doc: 'How long SIGTERM waits for in-flight requests before closing connections (ms)',
  },
  GRAPHIQL: {
    key: 'graphiql',
    default: (env) => String(!isProduction(env)),
    parse: boolean,
    doc: 'Serve GraphiQL to browsers on `GET /graphql` (default: on unless production)',
  },
  INTROSPECTION: {
    key: 'introspection',
    default: (env) => String(!isProduction(env)),
    parse: boolean,
    doc: 'Allow schema introspection (default: on unless production)',
  },
  TRUST_PROXY: {
    key: 'trustProxy',
    default: '',
    parse: (raw) =>
      Object.freeze(
        raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    doc: 'Comma-separated addresses or CIDRs of reverse proxies whose `X-Forwarded-For` is believed; empty: the socket address is the client',
  },
  HEALTH_CACHE_MS: {
    key: 'healthCacheMs',
    default: '1000',
    parse: integer(0, 60_000),
    doc: 'How long the `health` query reuses its database probe (ms); concurrent calls share one probe; 0: probe on every call. `/readyz` always probes',
  },
  LOG_BUFFER_BYTES: {
    key: 'logBufferBytes',
    default: '16000',
    // sonic-boom refuses a buffer that is not smaller than its largest single write (16 KiB).
    parse: integer(0, 16_000),
    doc: 'Log lines are gathered up to this many bytes (at most 16000) and written together in one write (pending lines are written at exit); 0: each line is written as it is logged',
  },
  LOG_FLUSH_MS: {
    key: 'logFlushMs',
    default: '250',
    parse: integer(1, 60_000),
    doc: 'With a log buffer, the longest a line waits before it is written (ms)',
  },
  WORKER_THREADS: {
    key: 'workerThreads',
    default: () => String(availableParallelism()),
    parse: integer(1, 256),
    doc: 'Worker threads for heavy work (reports, PDFs, re-encryption, `systemSelfTest`); all start with the server',
  },
  WORKER_MAX_QUEUE: {
    key: 'workerMaxQueue',
    default: '64',
    parse: integer(0, 100_000),
    doc: 'Heavy tasks that may wait for a free worker; the next is refused at once with `SERVER_BUSY`',
  },
  WORKER_QUEUE_HIGH_WATER: {
    key: 'workerQueueHighWater',
    default: '32',
    parse: integer(0, 100_000),
    doc: 'An operation with heavy fields is refused with `SERVER_BUSY` before it runs when its cost would take the waiting tasks past this (unless none wait)',
  },
  WORKER_TASK_TIMEOUT_MS: {
    key: 'workerTaskTimeoutMs',
    default: '30000',
    parse: integer(1, 3_600_000),
    doc: 'Time limit of a heavy task in ms, counted from when it is queued; past it the worker is stopped and the client gets `TIMEOUT`',
  },
  WORKER_TASK_TIMEOUTS: {
    key: 'workerTaskTimeouts',
    default: '',
    parse: taskTimeouts,
    doc: 'Per-kind time limits overriding `WORKER_TASK_TIMEOUT_MS`, as `kind=ms,…` (kinds: `selfTest`, `weeklyStatistics`, `renderReport`, `finishReportPdf`, `reencryptSecrets`)',
  },
  WORKER_MAX_OLD_GENERATION_MB: {
    key: 'workerMaxOldGenerationMb',
    default: '256',
    parse: integer(16, 65_536),
    doc: 'Heap limit of each worker thread in MB; a task that exceeds it fails with `INTERNAL_SERVER_ERROR` and the thread is replaced',
  },
  WORKER_RECYCLE_AFTER_TASKS: {
    key: 'workerRecycleAfterTasks',
    default: '1000',
    parse: integer(0, 100_000_000),
    doc: 'Replace a worker thread after it has run this many tasks (0: never)',
  },
  WORKER_NICE: {
    key: 'workerNice',
    default: '10',
    parse: integer(0, 19),
    doc: "Added to each worker thread's nice value (Linux), so light requests on the event loop win the CPU from heavy work; 0: same priority",
  },
  SELF_TEST_MAX_ITERATIONS: {
    key: 'selfTestMaxIterations',
    default: '5000000',
    parse: integer(1, 1_000_000_000),
    doc: 'Most SHA-256 rounds `systemSelfTest(iterations:)` accepts',
  },
  METRICS_MAX_OPERATION_NAMES: {
    key: 'metricsMaxOperationNames',
    default: '200',
    parse: integer(0, 100_000),
    doc: 'Distinct GraphQL operation names kept as metric labels; later ones (and names over 64 characters) are counted as `other`',
  },
  METRICS_TOKEN: {
    key: 'metricsToken',
    default: undefined,
    parse: secret(16),
    doc: '`GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>` (at least 16 characters); unset: no token. In production this or `METRICS_PORT` is required',
  },
  METRICS_HOST: {
    key: 'metricsHost',
    default: '127.0.0.1',
    parse: nonEmpty,
    doc: 'Address of the separate `/metrics` listener (only with `METRICS_PORT`)',
  },
  METRICS_PORT: {
    key: 'metricsPort',
    default: undefined,
    parse: integer(0, 65535),
    doc: 'Serve `/metrics` on its own listener at `METRICS_HOST:METRICS_PORT` and not on `PORT`; unset: on `PORT`',
  },
  // --- GraphQL limits (README "GraphQL limits") ---
  GRAPHQL_MAX_DEPTH: {
    key: 'graphqlMaxDepth',
    default: '10',
    parse: integer(1, 500),
    doc: 'Deepest field nesting of an operation; `__schema`/`__type` subtrees are exempt (see `GRAPHQL_MAX_INTROSPECTION_LISTS`)',
  },
  GRAPHQL_MAX_ALIASES: {
    key: 'graphqlMaxAliases',
    default: '15',
    parse: integer(0, 100_000),
    doc: "Aliased fields per operation, a fragment's counted at every spread",
  },
  GRAPHQL_MAX_DIRECTIVES: {
    key: 'graphqlMaxDirectives',
    default: '5',
    parse: integer(0, 1000),
    doc: 'Directives on any one field, fragment, fragment spread, variable or operation',
  },
  GRAPHQL_MAX_TOKENS: {
    key: 'graphqlMaxTokens',
    default: '1000',
    parse: integer(100, 100_000),
    doc: 'Lexical tokens per document (graphql-js `parse` `maxTokens`: parsing stops there); the standard introspection query has about 200',
  },
  GRAPHQL_MAX_FRAGMENT_SPREADS: {
    key: 'graphqlMaxFragmentSpreads',
    default: '50',
    parse: integer(0, 100_000),
    doc: 'Fragment spreads per operation, each counted at every use (a fragment spread twice inside one spread twice counts 2 + 4)',
  },
  GRAPHQL_MAX_DUPLICATE_FIELDS: {
    key: 'graphqlMaxDuplicateFields',
    default: '20',
    parse: integer(0, 100_000),
    doc: 'Fields per operation that repeat a response name already selected in the same selection set (fragments merged in); GraphQL merges them, but validating them costs time that grows faster than their number',
  },
  GRAPHQL_MAX_COST: {
    key: 'graphqlMaxCost',
    default: '5000',
    parse: integer(1, 100_000_000),
    doc: 'Estimated cost per operation: each field costs 1, times the `first`/`last` of the field above it or `GRAPHQL_DEFAULT_LIST_SIZE` for another list; introspection subtrees are exempt',
  },
  GRAPHQL_DEFAULT_LIST_SIZE: {
    key: 'graphqlDefaultListSize',
    default: '10',
    parse: integer(1, 100_000),
    doc: 'Items assumed, when estimating cost, for a list field without `first`/`last` (or with one given by a variable that has no default)',
  },
  GRAPHQL_MAX_INTROSPECTION_LISTS: {
    key: 'graphqlMaxIntrospectionLists',
    default: '3',
    parse: integer(1, 100),
    doc: 'How deep list fields may nest inside `__schema`/`__type` (the standard introspection query needs 3: types → fields → args; a circular one goes deeper)',
  },
  GRAPHQL_MAX_BATCH: {
    key: 'graphqlMaxBatch',
    default: '1',
    parse: integer(1, 100),
    doc: 'Operations per HTTP request; 1: no batching (a JSON array body is refused with `QUERY_LIMIT_EXCEEDED`); more: batches of up to this many',
  },
  STATISTICS_MAX_RANGE_DAYS: {
    key: 'statisticsMaxRangeDays',
    default: '1827',
    parse: integer(1, 36_525),
    doc: 'Longest range `weeklyStatistics` accepts, in days, `from` and `to` included (1827: five years); longer is `BAD_USER_INPUT`',
  },
  STATISTICS_MAX_FILTER_VALUES: {
    key: 'statisticsMaxFilterValues',
    default: '100',
    parse: integer(1, 10_000),
    doc: 'Most applications, and most sources, one `weeklyStatistics` call may name; more is `BAD_USER_INPUT`',
  },
  STATISTICS_MAX_CONCURRENT: {
    key: 'statisticsMaxConcurrent',
    default: () => String(Math.max(1, Math.floor(availableParallelism() / 2))),
    parse: integer(1, 256),
    doc: '`weeklyStatistics` aggregations running in PostgreSQL at once (default: half the CPUs, at least 1), so a burst of dashboards leaves the database cores for light queries; the rest wait in line',
  },
  STATISTICS_MAX_WAITING: {
    key: 'statisticsMaxWaiting',
    default: '64',
    parse: integer(0, 100_000),
    doc: '`weeklyStatistics` calls that may wait for an aggregation slot; the next is refused at once with `SERVER_BUSY`',
  },
  LICENCE_SUMMARY_EXPIRING_LIMIT: {
    key: 'licenceSummaryExpiringLimit',
    default: '100',
    parse: integer(1, 10_000),
    doc: 'Most expiring licences `licenceSummary` lists, soonest first (`expiringCount` says how many there are)',
  },
  // --- licences ---
  LICENCES_PAGE_MAX: {
    key: 'licencesPageMax',
    default: '100',
    parse: integer(1, 10_000),
    doc: 'Most licences one `licences` page holds; a larger `first` is `BAD_USER_INPUT`',
  },
  RATE_LIMIT_VALIDATE_PER_IP: {
    key: 'rateLimitValidatePerIp',
    default: '600',
    parse: integer(1, 100_000_000),
    doc: '`validateLicence` calls per client address per `RATE_LIMIT_VALIDATE_WINDOW_SECONDS`; more are `RATE_LIMITED`',
  },
  RATE_LIMIT_VALIDATE_WINDOW_SECONDS: {
    key: 'rateLimitValidateWindowSeconds',
    default: '60',
    parse: integer(1, 86_400),
    doc: 'Length of the `validateLicence` rate-limit window, in seconds',
  },
  VALIDATE_BATCH_WINDOW_MS: {
    key: 'validateBatchWindowMs',
    default: '1',
    parse: integer(0, 1000),
    doc: 'How long the first `validateLicence` of a batch waits for others, in ms; the batch shares one lookup and one insert of its events (group commit). 0: the calls that arrive in the same turn of the event loop',
  },
  VALIDATE_BATCH_MAX: {
    key: 'validateBatchMax',
    default: '256',
    parse: integer(1, 10_000),
    doc: 'Most `validateLicence` calls one batch serves; a full batch is written at once',
  },
  VALIDATE_BATCH_CONCURRENCY: {
    key: 'validateBatchConcurrency',
    default: '2',
    parse: integer(1, 64),
    doc: 'Validation batches being written at once (per process; two let one commit overlap the next statement); the calls that arrive meanwhile wait and form the next batch, so under load batches grow by themselves',
  },
  VALIDATE_SOURCE_MAX_LENGTH: {
    key: 'validateSourceMaxLength',
    default: '64',
    parse: integer(1, 1000),
    doc: 'Longest `source` `validateLicence` accepts, in characters',
  },
  VALIDATE_NONCE_MAX_LENGTH: {
    key: 'validateNonceMaxLength',
    default: '128',
    parse: integer(1, 4096),
    doc: 'Longest `nonce` `validateLicence` accepts (and signs), in characters',
  },
  // --- sign-in and two-step verification ---
  ADMIN_EMAIL: {
    key: 'adminEmail',
    default: (env) => (!env.NODE_ENV || env.NODE_ENV === 'development' ? 'admin@strongroom.local' : undefined),
    parse: email,
    doc: 'Email of the admin created on first start when there is none',
  },
  ADMIN_PASSWORD: {
    key: 'adminPassword',
    default: undefined,
    parse: nonEmpty,
    doc: 'Password of that admin; unset in development: a random one, printed once to stderr',
  },
  SIGNUP_ENABLED: { key: 'signupEnabled', default: 'false', parse: boolean, doc: 'Let anyone create an account with `signUp`' },
  PASSWORD_ITERATIONS: {
    key: 'passwordIterations',
    default: '210000',
    parse: integer(210_000, 10_000_000),
    doc: 'PBKDF2-HMAC-SHA512 iterations for new hashes (OWASP minimum 210000); older hashes are upgraded at sign-in',
  },
  PASSWORD_HASH_CONCURRENCY: {
    key: 'passwordHashConcurrency',
    default: () => String(Math.max(1, os.availableParallelism() - 1)),
    parse: integer(1, 64),
    doc: 'Password hashes computed at once (more sign-ins wait their turn), so sign-ins never take every core and libuv thread',
  },
  JWT_ISSUER: { key: 'jwtIssuer', default: 'strongroom', parse: nonEmpty, doc: '`iss` of access tokens (checked)' },
  JWT_AUDIENCE: { key: 'jwtAudience', default: 'strongroom-api', parse: nonEmpty, doc: '`aud` of access tokens (checked)' },
  ACCESS_TOKEN_TTL_SECONDS: {
    key: 'accessTokenTtlSeconds',
    default: '900',
    parse: integer(30, 86_400),
    doc: 'Access token lifetime in seconds (15 min)',
  },
  SESSION_TTL_DAYS: { key: 'sessionTtlDays', default: '30', parse: integer(1, 365), doc: 'Session and refresh token lifetime in days' },
  SIGNING_KEY_ROTATION_DAYS: {
    key: 'signingKeyRotationDays',
    default: '30',
    parse: integer(1, 3650),
    doc: 'Age in days after which a new token signing key takes over (the old `kid` verifies until its tokens expire)',
  },
  SIGNING_KEY_CACHE_SECONDS: {
    key: 'signingKeyCacheSeconds',
    default: '60',
    parse: integer(1, 3600),
    doc: 'How long each process reuses its list of signing keys, and the JWKS served from it, before reading it again; a rotation by this process shows at once, one by another process within this time',
  },
  SECRETS_BATCH_SIZE: {
    key: 'secretsBatchSize',
    default: '1000',
    parse: integer(1, 100_000),
    doc: 'Rows per transaction when values stored in the clear are sealed (at start and by `db:migrate`) and when `npm run keys -- rotate` re-encrypts or re-indexes them (`--batch` overrides it there)',
  },
  SIGN_IN_CODE_LENGTH: { key: 'signInCodeLength', default: '6', parse: integer(6, 8), doc: 'Digits in an emailed sign-in code (6–8)' },
  SIGN_IN_CODE_TTL_SECONDS: {
    key: 'signInCodeTtlSeconds',
    default: '600',
    parse: integer(60, 3600),
    doc: 'How long a sign-in challenge and its code are valid, in seconds (10 min)',
  },
  SIGN_IN_CODE_MAX_ATTEMPTS: {
    key: 'signInCodeMaxAttempts',
    default: '5',
    parse: integer(1, 20),
    doc: 'Wrong codes per challenge before it is dead',
  },
  REMEMBER_DEVICE_DAYS: {
    key: 'rememberDeviceDays',
    default: '30',
    parse: integer(1, 365),
    doc: 'Days a verified IP address and device are remembered (no code asked from them)',
  },
  TOTP_ISSUER: { key: 'totpIssuer', default: 'Strongroom', parse: nonEmpty, doc: 'Issuer shown in authenticator apps' },
  SMTP_URL: {
    key: 'smtpUrl',
    default: undefined,
    parse: urlWithScheme('smtp://', 'smtps://'),
    doc: '`smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`; unset: mail is written as `.eml` files under `DATA_DIR/outbox`',
  },
  MAIL_FROM: { key: 'mailFrom', default: 'Strongroom <no-reply@strongroom.invalid>', parse: nonEmpty, doc: 'From address of mail' },
  SMTP_TIMEOUT_MS: {
    key: 'smtpTimeoutMs',
    default: '10000',
    parse: integer(100, 120_000),
    doc: 'SMTP connection, greeting and socket timeout in ms',
  },
  REDIS_URL: {
    key: 'redisUrl',
    default: undefined,
    parse: urlWithScheme('redis://', 'rediss://'),
    doc: 'Redis for rate limits shared by every API process; unset: each process counts in memory',
  },
  RATE_LIMIT_WINDOW_SECONDS: {
    key: 'rateLimitWindowSeconds',
    default: '900',
    parse: integer(1, 86_400),
    doc: 'Length of each rate-limit window in seconds (15 min)',
  },
  RATE_LIMIT_SIGN_IN_PER_EMAIL_IP: {
    key: 'rateLimitSignInPerEmailIp',
    default: '10',
    parse: integer(1, 1_000_000),
    doc: 'Sign-in attempts per email and IP address per window',
  },
  RATE_LIMIT_SIGN_IN_PER_IP: {
    key: 'rateLimitSignInPerIp',
    default: '100',
    parse: integer(1, 1_000_000),
    doc: 'Sign-in attempts per IP address per window',
  },
  RATE_LIMIT_VERIFY_PER_USER: {
    key: 'rateLimitVerifyPerUser',
    default: '20',
    parse: integer(1, 1_000_000),
    doc: 'Second-step code attempts per user per window, across challenges',
  },
  RATE_LIMIT_RESEND_PER_CHALLENGE: {
    key: 'rateLimitResendPerChallenge',
    default: '3',
    parse: integer(1, 1000),
    doc: 'Code resends per challenge per window',
  },
  RATE_LIMIT_ACCOUNT_FAILURES: {
    key: 'rateLimitAccountFailures',
    default: '10',
    parse: integer(1, 1_000_000),
    doc: 'Failed passwords on one account, across every IP address, after which it is locked for sign-ins from IP addresses and devices it has not verified (a remembered IP address and device is never locked out by them)',
  },
  RATE_LIMIT_ACCOUNT_LOCK_SECONDS: {
    key: 'rateLimitAccountLockSeconds',
    default: '60',
    parse: integer(1, 86_400),
    doc: 'The first account lock in seconds; each further failure after it doubles the lock',
  },
  RATE_LIMIT_ACCOUNT_LOCK_MAX_SECONDS: {
    key: 'rateLimitAccountLockMaxSeconds',
    default: '3600',
    parse: integer(1, 604_800),
    doc: 'The longest account lock in seconds (1 hour)',
  },
  RATE_LIMIT_ACCOUNT_WINDOW_SECONDS: {
    key: 'rateLimitAccountWindowSeconds',
    default: '86400',
    parse: integer(1, 2_592_000),
    doc: "How long an account's failed passwords are counted, from the first of them, in seconds (1 day); a correct password clears them",
  },
  // --- reports ---
  PUPPETEER_EXECUTABLE_PATH: {
    key: 'chromiumPath',
    default: '/usr/bin/chromium',
    parse: nonEmpty,
    doc: "Chromium that prints PDF reports (Debian's `chromium`); without one, PDF reports fail with `RENDERER_UNAVAILABLE` and everything else works",
  },
  MASTER_KEY: {
    key: 'masterKey',
    default: undefined,
    parse: base64Key32,
    doc: 'The master key that wraps the keyring, base64 of 32 bytes (`openssl rand -base64 32`); set one of `MASTER_KEY`, `MASTER_KEY_FILE`, `MASTER_KEY_RSA_PRIVATE_KEY_FILE` (required in production); unset in development: a key file is generated under `DATA_DIR`',
  },
  MASTER_KEY_FILE: {
    key: 'masterKeyFile',
    default: undefined,
    parse: (raw) => path.resolve(nonEmpty(raw)),
    doc: 'File holding the master key as base64 of 32 bytes (a mounted secret, for example)',
  },
  MASTER_KEY_RSA_PRIVATE_KEY_FILE: {
    key: 'masterKeyRsaPrivateKeyFile',
    default: undefined,
    parse: (raw) => path.resolve(nonEmpty(raw)),
    doc: 'PEM file of an RSA private key (2048 bits or more); each keyring key is wrapped with its public key (RSA-OAEP, SHA-256)',
  },
  KEYRING_REFRESH_SECONDS: {
    key: 'keyringRefreshSeconds',
    default: '5',
    parse: integer(1, 3600),
    doc: 'How often a process checks the keyring for a key generated or promoted by another process, in seconds',
  },
  REPORT_RENDERING: {
    key: 'reportRendering',
    default: 'on',
    parse: boolean,
    doc: 'Whether the API process renders reports too (`on`/`off`); `npm run worker` processes always do',
  },
  REPORT_CONCURRENCY: {
    key: 'reportConcurrency',
    default: '2',
    parse: integer(1, 64),
    doc: 'Reports one process renders at once (and Chromium pages it keeps open); the rest stay `QUEUED`',
  },
  REPORT_MAX_QUEUE: {
    key: 'reportMaxQueue',
    default: '64',
    parse: integer(1, 1_000_000),
    doc: 'Queued reports (across all processes) past which `requestReport` answers `SERVER_BUSY`',
  },
  REPORT_RENDER_TIMEOUT_MS: {
    key: 'reportRenderTimeoutMs',
    default: '60000',
    parse: integer(1000, 3_600_000),
    doc: 'Time limit of one attempt at a report (statistics, templates, Chromium, appendices), ms; past it the report is `TIMED_OUT`',
  },
  REPORT_MAX_ATTEMPTS: {
    key: 'reportMaxAttempts',
    default: '3',
    parse: integer(1, 20),
    doc: 'Attempts at a report before it is `FAILED` (a crashed Chromium or a lost render process costs one)',
  },
  REPORT_LEASE_SECONDS: {
    key: 'reportLeaseSeconds',
    default: '30',
    parse: integer(1, 3600),
    doc: 'A render process holds a running report this long without renewing (it renews every third of it); a process that dies loses its reports to another after this',
  },
  REPORT_POLL_MS: {
    key: 'reportPollMs',
    default: '1000',
    parse: integer(10, 60_000),
    doc: 'How often an idle render loop looks for queued reports (ms); a report requested from the same process starts at once',
  },
  REPORT_CHROMIUM_RECYCLE_AFTER: {
    key: 'reportChromiumRecycleAfter',
    default: '100',
    parse: integer(0, 1_000_000),
    doc: 'Chromium is replaced after this many PDFs, for memory (0: never)',
  },
  REPORT_MAX_WAIT_SECONDS: {
    key: 'reportMaxWaitSeconds',
    default: '30',
    parse: integer(0, 600),
    doc: 'Most seconds `requestReport(waitSeconds:)` waits for the report (longer asks wait this long)',
  },
  REPORT_DOWNLOAD_TTL_SECONDS: {
    key: 'reportDownloadTtlSeconds',
    default: '900',
    parse: integer(10, 86_400),
    doc: "Lifetime of a report's `downloadUrl` in seconds (15 min), at most `ACCESS_TOKEN_TTL_SECONDS`",
  },
  REPORT_RETENTION_HOURS: {
    key: 'reportRetentionHours',
    default: '168',
    parse: integer(1, 87_600),
    doc: 'Finished reports (and their files) are deleted this many hours after they finished (7 days)',
  },
  REPORT_SWEEP_BATCH: {
    key: 'reportSweepBatch',
    default: '100',
    parse: integer(1, 100_000),
    doc: 'Most expired reports one pass of the render loop deletes',
  },
  REPORT_MAX_RANGE_DAYS: {
    key: 'reportMaxRangeDays',
    default: '1830',
    parse: integer(1, 36_600),
    doc: 'Longest range a report may cover, in days (about 5 years)',
  },
  REPORT_APPENDICES: {
    key: 'reportAppendices',
    default: 'terms-of-licence',
    parse: appendixList,
    doc: 'PDF appendices merged after every weekly statistics PDF, comma-separated (known: `terms-of-licence`; an unknown name stops the start); empty: none',
  },
  PUBLIC_URL: {
    key: 'publicUrl',
    default: undefined,
    parse: (raw) => urlWithScheme('http://', 'https://')(raw).replace(/\/+$/, ''),
    doc: "Public base URL of the API, such as `https://strongroom.example.com`, for report download links; unset: links are paths on the API's own origin",
  },
} satisfies { [name: string]: Variable<keyof Config> };

/** Thrown by {@link parseConfig} with every problem found. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A condition the server needs beyond each value being valid, checked at start together with
 * the values (every problem is reported at once). To require something more, add an entry to
 * {@link START_REQUIREMENTS}. `config` holds the variables that parsed; a requirement that
 * depends on one that did not parse is skipped (its own problem is reported).
 */
export interface StartRequirement {
  /** Whether it applies (for example, only in production). */
  readonly applies: (config: Partial<Config>) => boolean;
  /** True when it is not met. */
  readonly unmet: (config: Partial<Config>) => boolean;
  /** What to tell the operator, naming the variables to set. */
  readonly problem: string;
}

const inProduction = (config: Partial<Config>) => config.nodeEnv === 'production';

/** What `npm start` (src/main.ts) requires before it opens anything. */
export const START_REQUIREMENTS: readonly StartRequirement[] = [
  {
    applies: inProduction,
    unmet: (c) => c.databaseUrl === undefined,
    problem: 'DATABASE_URL must be set in production: the embedded database is for development',
  },
  {
    applies: inProduction,
    unmet: (c) => c.smtpUrl === undefined,
    problem: 'SMTP_URL must be set in production: without it sign-in codes are only written to DATA_DIR/outbox',
  },
  {
    applies: inProduction,
    unmet: (c) => c.metricsToken === undefined && c.metricsPort === undefined,
    problem: 'METRICS_TOKEN or METRICS_PORT must be set in production: /metrics must not be public on the API port',
  },
  {
    applies: inProduction,
    unmet: (c) => c.masterKey === undefined && c.masterKeyFile === undefined && c.masterKeyRsaPrivateKeyFile === undefined,
    problem: 'MASTER_KEY, MASTER_KEY_FILE or MASTER_KEY_RSA_PRIVATE_KEY_FILE must be set in production: the keyring that encrypts secrets is wrapped by it',
  },
];

/**
 * Parses an environment into a frozen {@link Config}; throws {@link ConfigError} listing every
 * invalid variable and every unmet requirement among `requirements`.
 */
export function parseConfig(env: Env, requirements: readonly StartRequirement[] = []): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(VARIABLES) as [string, Variable<keyof Config>][]) {
    const given = env[name];
    const raw = given !== undefined && given !== '' ? given : typeof variable.default === 'function' ? variable.default(env) : variable.default;
    if (raw === undefined) {
      out[variable.key] = undefined;
      continue;
    }
    try {
      out[variable.key] = variable.parse(raw);
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      // Never echo the value: a URL may carry a password.
      problems.push(`${name} ${err.message}`);
    }
  }
  const parsed = out as Partial<Config>;
  const masterKeys = (['MASTER_KEY', 'MASTER_KEY_FILE', 'MASTER_KEY_RSA_PRIVATE_KEY_FILE'] as const).filter((name) => out[VARIABLES[name].key] !== undefined);
  if (masterKeys.length > 1) problems.push(`set only one of ${masterKeys.join(', ')}: the keyring is wrapped by one master key`);
  for (const requirement of requirements) {
    if (requirement.applies(parsed) && requirement.unmet(parsed)) problems.push(requirement.problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as unknown as Config;
}

/**
 * Reads `process.env` (with `overrides` on top); on invalid values or unmet `requirements`
 * prints every problem and exits with status 78 (EX_CONFIG).
 */
export function loadConfig(overrides: Env = {}, requirements: readonly StartRequirement[] = []): Config {
  try {
    return parseConfig({ ...process.env, ...overrides }, requirements);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
