/**
 * Known origins: the IP addresses and devices (by hash) a user has passed the second step
 * from, remembered for REMEMBER_DEVICE_DAYS. A sign-in from a remembered IP address and
 * device needs no second step, and is spared the limits that strangers' failures fill.
 */
import { and, eq, gt, isNotNull, or, sql } from 'drizzle-orm';
import { knownOrigins } from '../../db/schema/auth.ts';
import type { Executor } from './executor.ts';

export interface OriginOptions {
  readonly rememberDeviceDays: number;
  readonly now: () => Date;
}

export interface KnownOrigin {
  readonly verifiedAt: Date;
  readonly label: string | null;
}

/** What is remembered of an IP address and a device for one user. */
export interface Known {
  readonly ip: KnownOrigin | undefined;
  readonly device: KnownOrigin | undefined;
}

/** Both remembered: the sign-in comes from a known origin. */
export const isKnownOrigin = (known: Known) => known.ip !== undefined && known.device !== undefined;

export function createOriginStore(ex: Executor, options: OriginOptions) {
  const { now } = options;
  return {
    /** The user's verified, unexpired origins matching this IP and device hash. */
    async knownFor(userId: string, ip: string, deviceHash: string): Promise<Known> {
      const rows = await ex
        .select({ kind: knownOrigins.kind, verifiedAt: knownOrigins.verifiedAt, label: knownOrigins.label })
        .from(knownOrigins)
        .where(
          and(
            eq(knownOrigins.userId, userId),
            gt(knownOrigins.verifiedUntil, now()),
            or(and(eq(knownOrigins.kind, 'IP'), eq(knownOrigins.value, ip)), and(eq(knownOrigins.kind, 'DEVICE'), eq(knownOrigins.value, deviceHash))),
          ),
        );
      return { ip: rows.find((r) => r.kind === 'IP'), device: rows.find((r) => r.kind === 'DEVICE') };
    },

    /** Remembers an origin verified at `at` (again: the period starts over). */
    async remember(userId: string, kind: 'IP' | 'DEVICE', value: string, label: string | null, at: Date): Promise<void> {
      const until = new Date(at.getTime() + options.rememberDeviceDays * 86_400_000);
      await ex
        .insert(knownOrigins)
        .values({ userId, kind, value, label, firstSeenAt: at, lastSeenAt: at, verifiedAt: at, verifiedUntil: until })
        .onConflictDoUpdate({
          target: [knownOrigins.userId, knownOrigins.kind, knownOrigins.value],
          set: { lastSeenAt: at, verifiedAt: at, verifiedUntil: until, label: sql`coalesce(excluded.label, ${knownOrigins.label})` },
        });
    },

    /** Notes that a remembered IP and device were used now (their verification is not renewed). */
    async touch(userId: string, ip: string, deviceHash: string): Promise<void> {
      await ex
        .update(knownOrigins)
        .set({ lastSeenAt: now() })
        .where(
          and(
            eq(knownOrigins.userId, userId),
            or(and(eq(knownOrigins.kind, 'IP'), eq(knownOrigins.value, ip)), and(eq(knownOrigins.kind, 'DEVICE'), eq(knownOrigins.value, deviceHash))),
          ),
        );
    },

    /** The label last given to a device of the user, if any. */
    async labelOf(userId: string, deviceHash: string): Promise<string | null> {
      const [row] = await ex
        .select({ label: knownOrigins.label })
        .from(knownOrigins)
        .where(and(eq(knownOrigins.userId, userId), eq(knownOrigins.kind, 'DEVICE'), eq(knownOrigins.value, deviceHash), isNotNull(knownOrigins.label)))
        .limit(1);
      return row?.label ?? null;
    },
  };
}

export type OriginStore = ReturnType<typeof createOriginStore>;
