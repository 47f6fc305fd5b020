/**
 * Licences and their events: the one write path to the `licensing` schema (data database).
 *
 * Fixtures, the seed generator and resolvers all go through here, so the rules (and the
 * storage form of licence keys) live in one place.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { licenceEvents, licences } from '../db/schema/licensing.ts';
import { BadUserInputError, NotFoundError } from '../errors.ts';
import { uniqueViolation } from '../db/postgres-error.ts';

export interface NewLicence {
  readonly username: string;
  readonly application: string;
  /** The public identifier; generated (`LIC-` + 16 hex digits) when omitted. */
  readonly uniqueId?: string;
  readonly licenceKey: string;
  /** Default true. */
  readonly active?: boolean;
  /** Null or omitted: never expires. */
  readonly expiresAt?: Date | null;
}

export interface Licence {
  readonly id: string;
  readonly username: string;
  readonly application: string;
  readonly uniqueId: string;
  readonly licenceKey: string;
  readonly active: boolean;
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
}

export interface NewLicenceEvent {
  readonly licenceId: string;
  readonly source: string;
  readonly kind: string;
  readonly occurredAt: Date;
}

export interface LicenceEvent extends NewLicenceEvent {
  readonly id: number;
  readonly application: string;
}

/**
 * Many events in one statement, dictionary-coded so that a million rows cost little to send:
 * `licence[i]` indexes `licences`, `source[i]` and `kind[i]` index their lists, and
 * `occurredAt[i]` is in whole seconds since the epoch. Indexes are 0-based.
 */
export interface EventBatch {
  readonly licences: readonly { readonly id: string; readonly application: string }[];
  readonly sources: readonly string[];
  readonly kinds: readonly string[];
  readonly licence: Int32Array;
  readonly source: Uint8Array;
  readonly kind: Uint8Array;
  readonly occurredAt: Float64Array;
}

export interface LicenceService {
  /** Creates a licence; BAD_USER_INPUT when a field is empty or the user already has one for the application. */
  create(input: NewLicence): Promise<Licence>;
  /** Creates many licences in one statement (same rules as `create`); resolves to their ids in order. */
  createMany(inputs: readonly NewLicence[]): Promise<string[]>;
  /** NOT_FOUND when there is no such licence. */
  get(id: string): Promise<Licence>;
  /** Records one event; its application is the licence's. NOT_FOUND when the licence does not exist. */
  recordEvent(input: NewLicenceEvent): Promise<LicenceEvent>;
  /** Records a batch of events in one statement; resolves to the number written. */
  recordEvents(batch: EventBatch): Promise<number>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function required(value: string | undefined, field: string): string {
  const v = value?.trim();
  if (!v) throw new BadUserInputError(`${field} must not be empty.`, field);
  return v;
}

/** The one place a licence key is turned into what is stored; both write paths go through it. */
function storedKey(licenceKey: string): string {
  return required(licenceKey, 'licenceKey');
}

function validLicence(input: NewLicence) {
  if (input.expiresAt && Number.isNaN(input.expiresAt.getTime())) throw new BadUserInputError('expiresAt is not a valid date.', 'expiresAt');
  return {
    username: required(input.username, 'username'),
    application: required(input.application, 'application'),
    uniqueId: input.uniqueId === undefined ? `LIC-${randomBytes(8).toString('hex').toUpperCase()}` : required(input.uniqueId, 'uniqueId'),
    licenceKey: storedKey(input.licenceKey),
    active: input.active ?? true,
    expiresAt: input.expiresAt ?? null,
  };
}

function duplicate(err: unknown): never {
  const constraint = uniqueViolation(err);
  if (constraint === 'licences_username_application_key') {
    throw new BadUserInputError('This user already has a licence for this application.', 'application');
  }
  if (constraint === 'licences_unique_id_unique') throw new BadUserInputError('This unique id is taken.', 'uniqueId');
  throw err;
}

const intArray = (values: ArrayLike<number>) => `{${Array.prototype.join.call(values, ',')}}`;

export function createLicenceService(database: Database): LicenceService {
  const { db, pool } = database;
  const toLicence = (row: typeof licences.$inferSelect): Licence => ({
    id: row.id,
    username: row.username,
    application: row.application,
    uniqueId: row.uniqueId,
    licenceKey: row.licenceKey,
    active: row.active,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
  });

  return {
    async create(input) {
      const [row] = await db.insert(licences).values(validLicence(input)).returning().catch(duplicate);
      return toLicence(row!);
    },

    async createMany(inputs) {
      if (inputs.length === 0) return [];
      const rows = inputs.map(validLicence);
      const ids: string[] = [];
      // PostgreSQL takes at most 65535 parameters per statement: 7 columns × 5000 rows stays under.
      for (let i = 0; i < rows.length; i += 5000) {
        const inserted = await db
          .insert(licences)
          .values(rows.slice(i, i + 5000))
          .returning({ id: licences.id })
          .catch(duplicate);
        ids.push(...inserted.map((r) => r.id));
      }
      return ids;
    },

    async get(id) {
      if (!UUID.test(id)) throw new NotFoundError('No such licence.');
      const [row] = await db.select().from(licences).where(eq(licences.id, id));
      if (!row) throw new NotFoundError('No such licence.');
      return toLicence(row);
    },

    async recordEvent(input) {
      if (!UUID.test(input.licenceId)) throw new NotFoundError('No such licence.');
      if (Number.isNaN(input.occurredAt.getTime())) throw new BadUserInputError('occurredAt is not a valid date.', 'occurredAt');
      const licence = await this.get(input.licenceId);
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

    async recordEvents(batch) {
      const n = batch.licence.length;
      if (batch.source.length !== n || batch.kind.length !== n || batch.occurredAt.length !== n) {
        throw new TypeError('recordEvents: the columns of a batch must have the same length');
      }
      if (n === 0) return 0;
      for (const s of batch.sources) required(s, 'source');
      for (const k of batch.kinds) required(k, 'kind');
      for (let i = 0; i < n; i++) {
        if (batch.licence[i]! >= batch.licences.length || batch.source[i]! >= batch.sources.length || batch.kind[i]! >= batch.kinds.length) {
          throw new TypeError(`recordEvents: row ${i} refers past the end of a dictionary`);
        }
      }
      // One statement: the dictionaries travel once, the rows as four numeric arrays. The
      // licence dictionary is joined (hashed once) rather than subscripted: a subscript into a
      // large array parameter costs a pass over the array for every row.
      const result = await pool.query(
        `with dictionary as (select * from unnest($1::uuid[], $2::text[]) with ordinality as d(id, application, n))
         insert into licensing.licence_events (licence_id, application, source, kind, occurred_at)
         select d.id, d.application, ($3::text[])[u.s + 1], ($4::text[])[u.k + 1], to_timestamp(u.t)
           from unnest($5::int4[], $6::int2[], $7::int2[], $8::float8[]) with ordinality as u(l, s, k, t, n)
           join dictionary d on d.n = u.l + 1
          order by u.n`,
        [
          batch.licences.map((l) => l.id),
          batch.licences.map((l) => l.application),
          batch.sources,
          batch.kinds,
          intArray(batch.licence),
          intArray(batch.source),
          intArray(batch.kind),
          intArray(batch.occurredAt),
        ],
      );
      return result.rowCount ?? 0;
    },
  };
}
