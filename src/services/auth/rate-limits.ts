/**
 * Rate limits on sign-in, code verification and resend (rate-limiter-flexible): counted in
 * this process's memory, or in Redis when REDIS_URL is set so every API process shares them.
 */
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { StrongroomError } from '../../errors.ts';

export type LimitName = 'signInPerEmailIp' | 'signInPerIp' | 'verifyPerUser' | 'resendPerChallenge';

export interface RateLimitSettings {
  readonly windowSeconds: number;
  readonly signInPerEmailIp: number;
  readonly signInPerIp: number;
  readonly verifyPerUser: number;
  readonly resendPerChallenge: number;
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
  /** `memory` or `redis`. */
  readonly store: 'memory' | 'redis';
  close(): Promise<void>;
}

export class RateLimitedError extends StrongroomError {
  constructor(retryAfter: number) {
    super('RATE_LIMITED', `Too many attempts; try again in ${retryAfter} seconds.`, { retryAfter });
  }
}

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
  const make = (name: LimitName, points: number): RateLimiterAbstract => {
    const opts = { keyPrefix: `${prefix}:rl:${name}`, points, duration: settings.windowSeconds };
    return redis ? new RateLimiterRedis({ ...opts, storeClient: redis }) : new RateLimiterMemory(opts);
  };
  const limiters: Record<LimitName, RateLimiterAbstract> = {
    signInPerEmailIp: make('signInPerEmailIp', settings.signInPerEmailIp),
    signInPerIp: make('signInPerIp', settings.signInPerIp),
    verifyPerUser: make('verifyPerUser', settings.verifyPerUser),
    resendPerChallenge: make('resendPerChallenge', settings.resendPerChallenge),
  };
  return {
    store: redis ? 'redis' : 'memory',
    async consume(limit, key) {
      try {
        await limiters[limit].consume(key);
      } catch (res) {
        if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
        // The store failed (Redis down): refuse rather than allow unlimited guessing.
        throw new StrongroomError('SERVER_BUSY', 'Sign-in is briefly unavailable; try again shortly.', { retryAfter: 5 });
      }
    },
    async reset(limit, key) {
      await limiters[limit].delete(key).catch(() => {});
    },
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
