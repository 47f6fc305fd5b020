/**
 * Licences and their events: the one write path to the `licensing` schema (data database).
 *
 * Fixtures, the seed generator, the importer and resolvers all go through here, so the rules
 * and the storage form of licence keys live in one place: a key is sealed (Fernet, under the
 * keyring's primary data key) with its blind index beside it, and opened only for a caller
 * allowed to read it. The methods that take a `Caller` check permissions themselves (the schema
 * directives make the same checks first); `create`, `createMany`, `get` and the event recorders
 * are for trusted in-process code (fixtures, the seed, CLIs) and record no event of their own.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { licenceEvents, licences } from '../db/schema/licensing.ts';
import { BadUserInputError, NotFoundError, StrongroomError } from '../errors.ts';
import { requireRole, requireSecondFactor } from './auth/permissions.ts';
import type { Refusal } from './licensing/django-import.ts';
import { recordEventBatch } from './licensing/events.ts';
import { listLicences } from './licensing/pages.ts';
import { conflict, newLicenceKey, newUniqueId, required, revealed, sealKey, toRecord, validDate } from './licensing/records.ts';
import type { Licence, LicenceRef, LicenceService, LicenceServiceDeps, LicenceSettings, NewLicence } from './licensing/types.ts';
import { createValidator } from './licensing/validation.ts';

export type { EventBatch } from './licensing/events.ts';
export type { LicenceFilter, LicencePage } from './licensing/pages.ts';
export type { LicenceRecord } from './licensing/records.ts';
export type { LicenceRefusal, ValidationResult } from './licensing/validation.ts';
export type {
  Licence,
  LicenceChanges,
  LicenceEvent,
  LicenceInput,
  LicenceRef,
  LicenceService,
  LicenceServiceDeps,
  LicenceSettings,
  NewLicence,
  NewLicenceEvent,
  ValidateArgs,
} from './licensing/types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How recent the second step of a licence deletion must be, in seconds (the schema's `@twoFactor(maxAge: 300)`). */
export const DELETE_MAX_AGE_SECONDS = 300;
const DEFAULTS: LicenceSettings = {
  pageMax: 100,
  batchWindowMs: 1,
  batchMax: 256,
  batchConcurrency: 2,
  sourceMaxLength: 64,
  nonceMaxLength: 128,
  issuer: 'strongroom',
};

export function createLicenceService(deps: LicenceServiceDeps): LicenceService {
  const { database, cipher } = deps;
  const { db, pool } = database;
  const now = deps.now ?? (() => new Date());
  const settings: LicenceSettings = { ...DEFAULTS, ...deps.settings };
  const validator = deps.keys ? createValidator(pool, deps.keys, settings, now) : undefined;

  const stored = (input: NewLicence) => ({
    username: required(input.username, 'username'),
    application: required(input.application, 'application'),
    uniqueId: input.uniqueId === undefined ? newUniqueId() : required(input.uniqueId, 'uniqueId'),
    ...sealKey(cipher, input.licenceKey === undefined ? newLicenceKey() : required(input.licenceKey, 'key')),
    active: input.active ?? true,
    expiresAt: validDate(input.expiresAt, 'expiresAt'),
  });

  async function get(id: string): Promise<Licence> {
    if (!UUID.test(id)) throw new NotFoundError('No such licence.');
    const [row] = await db.select().from(licences).where(eq(licences.id, id));
    if (!row) throw new NotFoundError('No such licence.');
    return toRecord(row);
  }

  function refWhere(ref: LicenceRef) {
    const hasId = ref.id != null;
    if (hasId === (ref.uniqueId != null)) throw new BadUserInputError('Give exactly one of id and uniqueId.', 'id');
    if (hasId) {
      if (!UUID.test(ref.id!)) throw new NotFoundError('No such licence.');
      return eq(licences.id, ref.id!);
    }
    return eq(licences.uniqueId, required(ref.uniqueId, 'uniqueId'));
  }

  /** Runs `change` on the licence `ref` names, locked, then records `kind`, all in one transaction. */
  async function changeOne(ref: LicenceRef, kind: string, change: (row: typeof licences.$inferSelect) => Record<string, unknown> | null) {
    const where = refWhere(ref);
    return db
      .transaction(async (tx) => {
        const [row] = await tx.select().from(licences).where(where).for('update');
        if (!row) throw new NotFoundError('No such licence.');
        const set = change(row);
        if (set === null) return toRecord(row);
        const at = now();
        const [updated] = await tx
          .update(licences)
          .set({ ...set, updatedAt: at })
          .where(eq(licences.id, row.id))
          .returning();
        await tx.insert(licenceEvents).values({ licenceId: row.id, application: updated!.application, source: 'api', kind, occurredAt: at });
        return toRecord(updated!);
      })
      .catch(conflict);
  }

  return {
    async create(input) {
      const [row] = await db.insert(licences).values(stored(input)).returning().catch(conflict);
      return toRecord(row!);
    },

    async createMany(inputs) {
      if (inputs.length === 0) return [];
      const rows = inputs.map(stored);
      const ids: string[] = [];
      // PostgreSQL takes at most 65535 parameters per statement: 9 columns × 5000 rows stays under.
      for (let i = 0; i < rows.length; i += 5000) {
        const inserted = await db
          .insert(licences)
          .values(rows.slice(i, i + 5000))
          .returning({ id: licences.id })
          .catch(conflict);
        ids.push(...inserted.map((r) => r.id));
      }
      return ids;
    },

    async importBatch(inputs) {
      const conflicts: Refusal[] = [];
      const values: ReturnType<typeof stored>[] = [];
      for (const input of inputs) {
        try {
          values.push(stored(input));
        } catch (err) {
          if (!(err instanceof StrongroomError)) throw err;
          conflicts.push({ row: input.uniqueId ?? '?', reason: err.message });
        }
      }
      if (values.length === 0) return { written: [], duplicates: [], conflicts };
      const inserted = await db.insert(licences).values(values).onConflictDoNothing().returning({ uniqueId: licences.uniqueId });
      const written = inserted.map((r) => r.uniqueId);
      const done = new Set(written);
      const skipped = values.filter((v) => !done.has(v.uniqueId));
      if (skipped.length === 0) return { written, duplicates: [], conflicts };
      const existing = await db
        .select({ uniqueId: licences.uniqueId })
        .from(licences)
        .where(
          inArray(
            licences.uniqueId,
            skipped.map((v) => v.uniqueId),
          ),
        );
      const duplicates = new Set(existing.map((r) => r.uniqueId));
      for (const v of skipped) {
        if (duplicates.has(v.uniqueId)) continue;
        const [pair] = await db
          .select({ uniqueId: licences.uniqueId })
          .from(licences)
          .where(and(eq(licences.username, v.username), eq(licences.application, v.application)));
        conflicts.push({
          row: v.uniqueId,
          reason: pair ? `the user already holds a licence for this application (${pair.uniqueId})` : 'another licence has the same key',
        });
      }
      return { written, duplicates: [...duplicates], conflicts };
    },

    get,

    async recordEvent(input) {
      if (Number.isNaN(input.occurredAt.getTime())) throw new BadUserInputError('occurredAt is not a valid date.', 'occurredAt');
      const licence = await get(input.licenceId);
      const [row] = await db
        .insert(licenceEvents)
        .values({
          licenceId: licence.id,
          application: licence.application,
          source: required(input.source, 'source'),
          kind: required(input.kind, 'kind'),
          occurredAt: input.occurredAt,
        })
        .returning();
      return { id: row!.id, licenceId: row!.licenceId, application: row!.application, source: row!.source, kind: row!.kind, occurredAt: row!.occurredAt };
    },

    recordEvents: (batch) => recordEventBatch(pool, batch),

    async list(caller, args) {
      requireRole(caller, 'ANALYST');
      return listLicences(db, args, settings.pageMax);
    },

    async byId(caller, id) {
      requireRole(caller, 'ANALYST');
      return get(id);
    },

    async byKey(caller, key) {
      requireRole(caller, 'ANALYST');
      const indexes = cipher.blindIndexes(revealed(key, 'key'));
      const [row] = await db
        .select()
        .from(licences)
        .where(inArray(licences.licenceKeyIndex, [...indexes]))
        .limit(1);
      if (!row) throw new NotFoundError('No licence has this key.');
      return toRecord(row);
    },

    revealKey(caller, licence) {
      requireRole(caller, 'ANALYST');
      requireSecondFactor(caller);
      return cipher.open(licence.sealedKey);
    },

    async createLicence(caller, input) {
      requireRole(caller, 'ADMIN');
      const values = stored({ ...input, licenceKey: input.key == null ? undefined : revealed(input.key, 'key') });
      return db
        .transaction(async (tx) => {
          const [row] = await tx.insert(licences).values(values).returning();
          await tx.insert(licenceEvents).values({ licenceId: row!.id, application: row!.application, source: 'api', kind: 'created', occurredAt: now() });
          return toRecord(row!);
        })
        .catch(conflict);
    },

    async updateLicence(caller, changes) {
      requireRole(caller, 'ADMIN');
      const set: Record<string, unknown> = {};
      if (changes.username != null) set.username = required(changes.username, 'username');
      if (changes.application != null) set.application = required(changes.application, 'application');
      if (changes.key != null) Object.assign(set, sealKey(cipher, revealed(changes.key, 'key')));
      if (changes.active != null) set.active = changes.active;
      if (changes.expiresAt !== undefined) set.expiresAt = validDate(changes.expiresAt, 'expiresAt');
      return changeOne(changes, 'updated', () => set);
    },

    async deactivateLicence(caller, ref) {
      requireRole(caller, 'ADMIN');
      return changeOne(ref, 'deactivated', (row) => (row.active ? { active: false } : null));
    },

    async deleteLicence(caller, ref) {
      requireRole(caller, 'ADMIN');
      requireSecondFactor(caller, DELETE_MAX_AGE_SECONDS);
      const [row] = await db.delete(licences).where(refWhere(ref)).returning({ id: licences.id, uniqueId: licences.uniqueId });
      if (!row) throw new NotFoundError('No such licence.');
      deps.logger?.info({ licenceId: row.id, uniqueId: row.uniqueId, by: caller.kind === 'user' ? caller.userId : caller.kind }, 'licence deleted');
      return row.id;
    },

    async validate(args) {
      if (!validator) throw new TypeError('validate: the licence service was built without signing keys');
      // Counted first, so that malformed checks spend the budget too.
      await deps.limits?.consume('validatePerIp', args.ip);
      const application = required(args.application, 'application');
      const source = required(args.source, 'source');
      if (source.length > settings.sourceMaxLength) throw new BadUserInputError(`source is longer than ${settings.sourceMaxLength} characters.`, 'source');
      const nonce = args.nonce ?? null;
      if (nonce !== null && nonce.length > settings.nonceMaxLength)
        throw new BadUserInputError(`nonce is longer than ${settings.nonceMaxLength} characters.`, 'nonce');
      const key = revealed(args.key, 'key');
      return validator.validate({ application, source, nonce, indexes: cipher.blindIndexes(key) });
    },

    async close() {
      await validator?.drain();
    },
  };
}
