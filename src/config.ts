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
import { TASK_KINDS } from './workers/tasks.ts';

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
  /** Longest range `weeklyStatistics` accepts, in days (from and to included). */
  readonly statisticsMaxRangeDays: number;
  /** Most applications, and most sources, one `weeklyStatistics` call may name. */
  readonly statisticsMaxFilterValues: number;
  /** Most expiring licences `licenceSummary` lists (it also says how many there are). */
  readonly licenceSummaryExpiringLimit: number;

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
    doc: 'Per-kind time limits overriding `WORKER_TASK_TIMEOUT_MS`, as `kind=ms,…` (kinds: `selfTest`, `weeklyStatistics`, `renderReport`, `finishReportPdf`)',
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
    doc: 'Distinct GraphQL operation names kept as metric labels; later ones are counted as `other`',
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
  LICENCE_SUMMARY_EXPIRING_LIMIT: {
    key: 'licenceSummaryExpiringLimit',
    default: '100',
    parse: integer(1, 10_000),
    doc: 'Most expiring licences `licenceSummary` lists, soonest first (`expiringCount` says how many there are)',
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
  // --- reports ---
  PUPPETEER_EXECUTABLE_PATH: {
    key: 'chromiumPath',
    default: '/usr/bin/chromium',
    parse: nonEmpty,
    doc: "Chromium that prints PDF reports (Debian's `chromium`); without one, PDF reports fail with `RENDERER_UNAVAILABLE` and everything else works",
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

/** Parses an environment into a frozen {@link Config}; throws {@link ConfigError} listing every invalid variable. */
export function parseConfig(env: Env): Config {
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
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as unknown as Config;
}

/** Reads `process.env`; on invalid values prints every problem and exits with status 78 (EX_CONFIG). */
export function loadConfig(overrides: Env = {}): Config {
  try {
    return parseConfig({ ...process.env, ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
