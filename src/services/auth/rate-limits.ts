/**
 * Rate limits on sign-in, code verification and resend (rate-limiter-flexible): counted in
 * this process's memory, or in Redis when REDIS_URL is set so every API process shares them.
 *
 * Password guesses meet three limits: per IP address, per email and IP address, and per
 * account across every IP (its failures lock the account for unknown origins, for a time
 * that doubles with each further failure, up to a cap). A sign-in from an IP address and
 * device the user has verified (a known origin) meets none of these: strangers' failures
 * fill them, and the owner must not be locked out by them. It has a budget of its own
 * instead (`signInKnownOrigin`, keyed by user, IP and device hash), which only someone
 * holding that device's id on that IP address can spend; its password is checked as always.
 */
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { StrongroomError } from '../../errors.ts';

export type LimitName = 'signInPerEmailIp' | 'signInPerIp' | 'signInKnownOrigin' | 'verifyPerUser' | 'resendPerChallenge' | 'validatePerIp';

export interface RateLimitSettings {
  readonly windowSeconds: number;
  readonly signInPerEmailIp: number;
  readonly signInPerIp: number;
  readonly verifyPerUser: number;
  readonly resendPerChallenge: number;
  /** Failed passwords on one account, from unknown origins, before it is locked for them. */
  readonly accountFailures: number;
  /** The first lock, in seconds; each further failure doubles it. */
  readonly accountLockSeconds: number;
  /** The longest lock, in seconds. */
  readonly accountLockMaxSeconds: number;
  /** How long an account's failures are counted from the first of them, in seconds. */
  readonly accountWindowSeconds: number;
  /** `validateLicence` calls per client address per {@link validateWindowSeconds} (default 600). */
  readonly validatePerIp?: number;
  /** Window of {@link validatePerIp}, in seconds (default 60). */
  readonly validateWindowSeconds?: number;
  /** Redis URL; unset = memory. */
  readonly redisUrl: string | undefined;
  /** Prefix of Redis keys (tests use their own). */
  readonly keyPrefix?: string;
}

export interface RateLimits {
  /** Counts one attempt against `key`; throws RATE_LIMITED with `retryAfter` (seconds) when over. */
  consume(limit: LimitName, key: string): Promise<void>;
  /** Forgets `key` (after a success, so a user's own typos do not lock them out later). */
  reset(limit: LimitName, key: string): Promise<void>;
  /** RATE_LIMITED (with `retryAfter`) while the account `key` is locked for unknown origins. */
  checkAccountLock(key: string): Promise<void>;
  /** Counts a failed password on the account; returns the lock it started, in seconds (0: none). */
  recordAccountFailure(key: string): Promise<number>;
  /** Forgets the account's failures (a correct password); a lock in force is not lifted. */
  resetAccountFailures(key: string): Promise<void>;
  /** `memory` or `redis`. */
  readonly store: 'memory' | 'redis';
  close(): Promise<void>;
}

export class RateLimitedError extends StrongroomError {
  constructor(retryAfter: number) {
    super('RATE_LIMITED', `Too many attempts; try again in ${retryAfter} seconds.`, { retryAfter });
  }
}

/** The lock, in seconds, after `failures` failed passwords: none below the budget, then base × 2ⁿ, capped. */
export function accountLockSeconds(
  failures: number,
  settings: Pick<RateLimitSettings, 'accountFailures' | 'accountLockSeconds' | 'accountLockMaxSeconds'>,
): number {
  if (failures < settings.accountFailures) return 0;
  const doublings = Math.min(failures - settings.accountFailures, 40);
  return Math.min(settings.accountLockMaxSeconds, settings.accountLockSeconds * 2 ** doublings);
}

const retryAfterOf = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/** The store failed (Redis down): refuse rather than allow unlimited guessing. */
const storeDown = () => new StrongroomError('SERVER_BUSY', 'Sign-in is briefly unavailable; try again shortly.', { retryAfter: 5 });

export function createRateLimits(settings: RateLimitSettings): RateLimits {
  const redis: RedisClient | undefined = settings.redisUrl
    ? // Commands wait for the connection at start, but never long: a Redis that does not answer
      // within the timeout fails the attempt instead of hanging the request.
      // ioredis is loaded only when configured, so processes without Redis do not pay for it.
      new (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis(settings.redisUrl, {
        maxRetriesPerRequest: 1,
        commandTimeout: 2000,
        connectTimeout: 2000,
      })
    : undefined;
  // An unreachable Redis must not crash the process; consume() then fails closed (see below).
  redis?.on('error', () => {});
  const prefix = settings.keyPrefix ?? 'strongroom';
  const make = (name: string, points: number, duration: number): RateLimiterAbstract => {
    const opts = { keyPrefix: `${prefix}:rl:${name}`, points, duration };
    return redis ? new RateLimiterRedis({ ...opts, storeClient: redis }) : new RateLimiterMemory(opts);
  };
  const window = settings.windowSeconds;
  const limiters: Record<LimitName, RateLimiterAbstract> = {
    signInPerEmailIp: make('signInPerEmailIp', settings.signInPerEmailIp, window),
    signInPerIp: make('signInPerIp', settings.signInPerIp, window),
    signInKnownOrigin: make('signInKnownOrigin', settings.signInPerEmailIp, window),
    verifyPerUser: make('verifyPerUser', settings.verifyPerUser, window),
    resendPerChallenge: make('resendPerChallenge', settings.resendPerChallenge, window),
    validatePerIp: make('validatePerIp', settings.validatePerIp ?? 600, settings.validateWindowSeconds ?? 60),
  };
  // Failures are only counted (consume never refuses: the lock decides); the lock is a key
  // blocked for the back-off, read before the password is checked.
  const accountFailures = make('accountFailures', Number.MAX_SAFE_INTEGER, settings.accountWindowSeconds);
  const accountLock = make('accountLock', 0, settings.accountLockMaxSeconds);
  const store = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RateLimitedError(retryAfterOf(err));
      throw storeDown();
    }
  };
  return {
    store: redis ? 'redis' : 'memory',
    async consume(limit, key) {
      await store(() => limiters[limit].consume(key));
    },
    async reset(limit, key) {
      await limiters[limit].delete(key).catch(() => {});
    },
    async checkAccountLock(key) {
      const lock = await store(() => accountLock.get(key));
      if (lock !== null && lock.consumedPoints > 0 && lock.msBeforeNext > 0) throw new RateLimitedError(retryAfterOf(lock));
    },
    async recordAccountFailure(key) {
      const counted = await store(() => accountFailures.consume(key));
      const seconds = accountLockSeconds(counted.consumedPoints, settings);
      if (seconds > 0) await store(() => accountLock.block(key, seconds));
      return seconds;
    },
    async resetAccountFailures(key) {
      await accountFailures.delete(key).catch(() => {});
    },
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
