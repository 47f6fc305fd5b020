/** The security audit log in the auth database: append (over a flow's executor), and page through newest first. */
import { desc, lt } from 'drizzle-orm';
import { auditLog } from '../../db/schema/auth.ts';
import { BadUserInputError } from '../../errors.ts';
import type { Executor } from './executor.ts';

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
  'RECOVERY_CODES_REGENERATED',
  'EMAIL_CODES_DISABLED',
  'EMAIL_CODES_ENABLED',
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
  /** The device's hash (`deviceIdHash`), never the id: it tells one device's events apart and is never shown. */
  readonly deviceHash?: string | null;
  /** The device's label as the client gave it: what admins see. */
  readonly deviceLabel?: string | null;
  /** Plain facts (reason, channel…); never a code, password, token or device id. */
  readonly detail?: Record<string, unknown>;
}

/** An event as admins read it: the device by its label only. */
export interface AuditRecord {
  readonly id: number;
  readonly occurredAt: Date;
  readonly event: AuditEventKind;
  readonly userId: string | null;
  readonly email: string | null;
  readonly ip: string | null;
  readonly deviceLabel: string | null;
  readonly detail: Record<string, unknown>;
}

export interface AuditPage {
  readonly records: readonly AuditRecord[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

/** Largest page `auditLog(first:)` serves. */
export const AUDIT_PAGE_MAX = 200;

/** Longest cursor looked at: ours are ~20 characters. */
const CURSOR_MAX = 64;

export const encodeCursor = (id: number) => Buffer.from(`audit:${id}`).toString('base64url');

/** The id inside a cursor; BAD_USER_INPUT unless it is one of ours holding a safe integer (ids are bigint, read as numbers). */
function decodeCursor(cursor: string): number {
  const m = cursor.length <= CURSOR_MAX ? /^audit:(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  const id = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new BadUserInputError('This cursor did not come from auditLog.', 'after');
  return id;
}

export function createAuditStore(ex: Executor, now: () => Date) {
  return {
    async record(entry: AuditEntry): Promise<void> {
      await ex.insert(auditLog).values({
        occurredAt: now(),
        event: entry.event,
        userId: entry.userId ?? null,
        email: entry.email ?? null,
        ip: entry.ip ?? null,
        deviceId: entry.deviceHash ?? null,
        deviceLabel: entry.deviceLabel ?? null,
        detail: entry.detail ?? {},
      });
    },

    /** Newest first; `after` is the `endCursor` of the previous page. */
    async page(first: number, after: string | null): Promise<AuditPage> {
      if (!Number.isInteger(first) || first < 1 || first > AUDIT_PAGE_MAX) {
        throw new BadUserInputError(`first must be between 1 and ${AUDIT_PAGE_MAX}.`, 'first');
      }
      const rows = await ex
        .select({
          id: auditLog.id,
          occurredAt: auditLog.occurredAt,
          event: auditLog.event,
          userId: auditLog.userId,
          email: auditLog.email,
          ip: auditLog.ip,
          deviceLabel: auditLog.deviceLabel,
          detail: auditLog.detail,
        })
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

export type AuditStore = ReturnType<typeof createAuditStore>;
