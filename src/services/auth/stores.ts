/**
 * The auth stores, built over one executor. `direct` runs each statement on its own (reads,
 * and writes of a single row); `transaction(fn)` builds the stores over one transaction, so
 * that a flow writing several rows passes it to every statement, and PostgreSQL undoes them
 * all if anything in the flow throws. Nothing inside `fn` may wait for another connection
 * (fetch the token signer and send mail outside it), nor for a slow outside call.
 */
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import { createAuditStore } from './audit.ts';
import { createChallengeStore } from './challenges.ts';
import type { Executor } from './executor.ts';
import { createOriginStore } from './origins.ts';
import { createSessionStore } from './sessions.ts';
import { createTotpStore } from './totp.ts';
import { createUserStore } from './users.ts';

export interface StoreOptions {
  readonly sessionTtlDays: number;
  readonly rememberDeviceDays: number;
  readonly now: () => Date;
  /** Seals and opens TOTP secrets, keys recovery-code hashes. */
  readonly cipher: FieldCipher;
}

export function createStores(ex: Executor, options: StoreOptions) {
  const { now } = options;
  return {
    users: createUserStore(ex, now),
    sessions: createSessionStore(ex, options),
    challenges: createChallengeStore(ex, now),
    origins: createOriginStore(ex, options),
    totp: createTotpStore(ex, now, options.cipher),
    audit: createAuditStore(ex, now),
  };
}

export type Stores = ReturnType<typeof createStores>;

export interface UnitOfWork {
  /** Stores whose statements each run on their own. */
  readonly direct: Stores;
  /** Runs `fn` in one transaction, with stores over it; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T>;
}

export function createUnitOfWork(db: NodePgDatabase, options: StoreOptions): UnitOfWork {
  return {
    direct: createStores(db, options),
    transaction: (fn) => db.transaction((tx) => fn(createStores(tx, options))),
  };
}
