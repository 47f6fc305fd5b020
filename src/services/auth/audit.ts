/** The security audit log in the auth database: append, and page through newest first. */
import { desc, lt } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { BadUserInputError } from '../../errors.ts';
import { auditLog } from '../../db/schema/auth.ts';

/** Every event the log records. */
export const AUDIT_EVENTS = [
  'SIGN_IN_SUCCEEDED',
  'SIGN_IN_FAILED',
  'CHALLENGE_ISSUED',
  'CHALLENGE_VERIFIED',
  'CHALLENGE_FAILED',
  'CHALLENGE_EXPIRED',
  'TOTP_ENROLLED',
  'RECOVERY_CODE_USED',
  'REFRESH_REUSE_DETECTED',
  'SIGNED_OUT',
  'USER_CREATED',
] as const;
export type AuditEventKind = (typeof AUDIT_EVENTS)[number];

export interface AuditEntry {
  readonly event: AuditEventKind;
  readonly userId?: string | null;
  readonly email?: string | null;
  readonly ip?: string | null;
  readonly deviceId?: string | null;
  /** Plain facts (reason, channel…); never a code, password or token. */
  readonly detail?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'detail'>> {
  readonly id: number;
  readonly occurredAt: Date;
  readonly detail: Record<string, unknown>;
}

export interface AuditPage {
  readonly records: readonly AuditRecord[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  /** Newest first; `after` is the `endCursor` of the previous page. */
  page(first: number, after: string | null): Promise<AuditPage>;
}

/** Largest page `auditLog(first:)` serves. */
export const AUDIT_PAGE_MAX = 200;

const encodeCursor = (id: number) => Buffer.from(`audit:${id}`).toString('base64url');
function decodeCursor(cursor: string): number {
  const m = /^audit:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new BadUserInputError('This cursor did not come from auditLog.', 'after');
  return Number(m[1]);
}

export function createAuditLog(db: NodePgDatabase, now: () => Date): AuditLog {
  return {
    async record(entry) {
      await db.insert(auditLog).values({
        occurredAt: now(),
        event: entry.event,
        userId: entry.userId ?? null,
        email: entry.email ?? null,
        ip: entry.ip ?? null,
        deviceId: entry.deviceId ?? null,
        detail: entry.detail ?? {},
      });
    },
    async page(first, after) {
      if (!Number.isInteger(first) || first < 1 || first > AUDIT_PAGE_MAX) {
        throw new BadUserInputError(`first must be between 1 and ${AUDIT_PAGE_MAX}.`, 'first');
      }
      const rows = await db
        .select()
        .from(auditLog)
        .where(after === null ? undefined : lt(auditLog.id, decodeCursor(after)))
        .orderBy(desc(auditLog.id))
        .limit(first + 1);
      const records = rows.slice(0, first).map((r) => ({ ...r, event: r.event as AuditEventKind, detail: (r.detail ?? {}) as Record<string, unknown> }));
      const last = records.at(-1);
      return { records, hasNextPage: rows.length > first, endCursor: last ? encodeCursor(last.id) : null };
    },
  };
}
