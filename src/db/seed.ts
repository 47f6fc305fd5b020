/**
 * A deterministic generator of realistic licences and licence events, for statistics
 * benchmarks and for trying dashboards on a lot of data (`npm run db:seed`).
 *
 * The same options give the same rows: every choice comes from one seeded PRNG (mulberry32), and
 * the year of events ends at `until`, not at "now". Licences go through the licence
 * service's `createMany`, events through its batched `recordEvents` (one statement per batch).
 * Seeded licences have unique ids starting `SEED-`; a new run first removes those (their
 * events go with them), so re-seeding never piles up or collides.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database } from './client.ts';
import type { LicenceService, NewLicence } from '../services/licences.ts';

export interface SeedOptions {
  /** Number of licence events (≥ 0). */
  readonly events: number;
  /** Number of licences (≥ 1 when events > 0). */
  readonly licences: number;
  /** PRNG seed: the same seed gives the same data. */
  readonly seed: number;
  /** End of the year the events fall in. */
  readonly until: Date;
  /** Events per statement; default 100 000. */
  readonly batchSize?: number;
  /** Statements in flight at once, each on its own connection; default 2. */
  readonly concurrency?: number;
  /**
   * How events are written: `copy` streams them with COPY FROM STDIN, `insert` sends each
   * batch as one INSERT … SELECT FROM unnest(…). Default: `copy` where the server takes it.
   */
  readonly via?: 'copy' | 'insert';
}

export interface SeedProgress {
  readonly phase: 'licences' | 'events';
  readonly done: number;
  readonly total: number;
}

export interface SeedResult {
  readonly licences: number;
  readonly events: number;
  /** Earlier seeded licences removed first. */
  readonly removed: number;
  /** Time spent writing events, in milliseconds. */
  readonly eventsMs: number;
  /** How the events were written. */
  readonly via: 'copy' | 'insert';
}

export const SEED_PREFIX = 'SEED-';

export const APPLICATIONS = ['Atlas Desktop', 'Beacon CLI', 'Compass Server', 'Delta Mobile', 'Echo Plugin', 'Forge SDK'] as const;
/** Where events come from, with relative weights. */
const SOURCES: readonly (readonly [string, number])[] = [
  ['desktop', 40],
  ['web', 25],
  ['api', 20],
  ['installer', 10],
  ['licence-server', 5],
];
/** What happened, with relative weights: checks dominate, as in real traffic. */
const KINDS: readonly (readonly [string, number])[] = [
  ['validated', 70],
  ['activated', 10],
  ['renewed', 6],
  ['deactivated', 5],
  ['check_failed', 6],
  ['expired', 3],
];
const FIRST = ['amira', 'ben', 'chloe', 'dmitri', 'elena', 'farid', 'grace', 'hugo', 'ines', 'jonas', 'kenji', 'lena', 'mateo', 'nora', 'omar', 'priya'];
const LAST = [
  'okafor',
  'schmidt',
  'martin',
  'ivanova',
  'rossi',
  'haddad',
  'kim',
  'dubois',
  'silva',
  'berg',
  'tanaka',
  'novak',
  'garcia',
  'walsh',
  'said',
  'patel',
];

const DAY_S = 86_400;
const YEAR_S = 365 * DAY_S;

/** mulberry32: small, fast, good enough for test data, and identical on every platform. */
export function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted(table: readonly (readonly [string, number])[]): (r: number) => number {
  const total = table.reduce((sum, [, weight]) => sum + weight, 0);
  let running = 0;
  const cumulative = table.map(([, weight]) => (running += weight) / total);
  return (r) => {
    const i = cumulative.findIndex((c) => r < c);
    return i === -1 ? table.length - 1 : i;
  };
}

const hex = (random: () => number, digits: number) => {
  let out = '';
  for (let i = 0; i < digits; i++) out += Math.floor(random() * 16).toString(16);
  return out.toUpperCase();
};

/** The licences of a seed, in order; pure. About two users in three hold one licence, the rest two or three. */
export function seedLicences(options: Pick<SeedOptions, 'licences' | 'seed' | 'until'>): NewLicence[] {
  const random = prng(options.seed ^ 0x5eed);
  const out: NewLicence[] = [];
  let user = 0;
  while (out.length < options.licences) {
    const username = `${FIRST[user % FIRST.length]}.${LAST[Math.floor(user / FIRST.length) % LAST.length]}${user >= FIRST.length * LAST.length ? Math.floor(user / (FIRST.length * LAST.length)) : ''}`;
    const held = random() < 0.66 ? 1 : 2 + Math.floor(random() * 2);
    const first = Math.floor(random() * APPLICATIONS.length);
    for (let k = 0; k < held && out.length < options.licences; k++) {
      const n = out.length;
      const roll = random();
      out.push({
        username,
        application: APPLICATIONS[(first + k) % APPLICATIONS.length]!,
        uniqueId: `${SEED_PREFIX}${String(n).padStart(7, '0')}-${hex(random, 4)}`,
        licenceKey: `${hex(random, 5)}-${hex(random, 5)}-${hex(random, 5)}-${hex(random, 5)}`,
        active: roll < 0.9,
        // A fifth never expire; the rest expire within a year either side of `until`.
        expiresAt: roll < 0.2 ? null : new Date(options.until.getTime() + Math.floor((random() * 2 - 1) * YEAR_S) * 1000),
      });
    }
    user++;
  }
  return out;
}

/** Relative traffic per hour of the day (UTC): quiet nights, busy working hours. */
const HOUR_WEIGHTS = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 11, 12, 12, 11, 9, 7, 6, 5, 4, 3, 2];
/** Weekend days carry this share of a weekday's traffic. */
const WEEKEND_SHARE = 0.4;

/** Cumulative shares (ending at 1) of a list of weights. */
function cumulative(weights: readonly number[]): Float64Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Float64Array(weights.length);
  let running = 0;
  for (let i = 0; i < weights.length; i++) out[i] = (running += weights[i]!) / total;
  return out;
}

/** First index whose cumulative share exceeds `q`, searching upward from `from`. */
function bucket(shares: Float64Array, q: number, from = 0): number {
  let i = from;
  while (i < shares.length - 1 && q >= shares[i]!) i++;
  return i;
}

/**
 * Fills `count` events starting at `offset` (of `events` in all) into columns; pure and
 * resumable, so batches can be generated one at a time. Events come in time order, as
 * real traffic does (and as their ids would): event `i` sits at the (i + ½)/events quantile
 * of a year whose weekdays are busier than weekends and working hours busier than nights.
 * Which licence, source and kind come from a stream seeded by (seed, i).
 */
export function seedEvents(
  options: Pick<SeedOptions, 'events' | 'licences' | 'seed' | 'until'>,
  offset: number,
  count: number,
): { licence: Int32Array; source: Uint8Array; kind: Uint8Array; occurredAt: Float64Array } {
  const licence = new Int32Array(count);
  const source = new Uint8Array(count);
  const kind = new Uint8Array(count);
  const occurredAt = new Float64Array(count);
  const pickSource = weighted(SOURCES);
  const pickKind = weighted(KINDS);
  const start = Math.floor(options.until.getTime() / 1000) - YEAR_S;
  const firstDay = Math.floor(start / DAY_S);
  // 1970-01-01 was a Thursday; weekday 0 = Sunday.
  const days = cumulative(Array.from({ length: 365 }, (_, d) => ([0, 6].includes((firstDay + d + 4) % 7) ? WEEKEND_SHARE : 1)));
  const hours = cumulative(HOUR_WEIGHTS);
  const base = Math.imul(options.seed | 0, 0x9e3779b1);
  let day = 0;
  for (let j = 0; j < count; j++) {
    const i = offset + j;
    const random = prng(base ^ Math.imul(i + 1, 0x85ebca77));
    // Popularity follows a power law: a few licences are checked very often.
    licence[j] = Math.min(options.licences - 1, Math.floor(options.licences * random() ** 2.5));
    source[j] = pickSource(random());
    kind[j] = pickKind(random());
    const q = (i + 0.5) / options.events;
    day = bucket(days, q, day);
    const dayStart = day === 0 ? 0 : days[day - 1]!;
    const r = (q - dayStart) / (days[day]! - dayStart);
    const hour = bucket(hours, r);
    const hourStart = hour === 0 ? 0 : hours[hour - 1]!;
    const second = Math.floor(((r - hourStart) / (hours[hour]! - hourStart)) * 3600);
    occurredAt[j] = start + day * DAY_S + hour * 3600 + Math.min(3599, second);
  }
  return { licence, source, kind, occurredAt };
}

/** A value as a field of COPY's text format (no NULLs here). */
const copyField = (value: string) => value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));

/** Bytes per chunk handed to the COPY stream. */
const COPY_CHUNK = 64 * 1024;
/** Events generated at a time while streaming a batch. */
const COPY_STEP = 8192;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));

/**
 * The text-format rows (licence_id, application, source, kind, occurred_at) of `count`
 * events from `offset`, as ~64 KiB strings. Lazy: the stream pulls the next chunk only when
 * the connection has taken the last, so a batch never sits whole in memory.
 */
function* copyRows(
  options: Pick<SeedOptions, 'events' | 'licences' | 'seed' | 'until'>,
  licencePrefixes: readonly string[],
  sourceFields: readonly string[],
  kindFields: readonly string[],
  offset: number,
  count: number,
): Generator<string> {
  let day = Number.NaN;
  let dayPrefix = '';
  let chunk = '';
  for (let at = offset; at < offset + count; at += COPY_STEP) {
    const n = Math.min(COPY_STEP, offset + count - at);
    const columns = seedEvents(options, at, n);
    for (let j = 0; j < n; j++) {
      const t = columns.occurredAt[j]!;
      const d = Math.floor(t / DAY_S);
      // Events come in time order, so the date part changes rarely: format it once a day.
      if (d !== day) {
        day = d;
        dayPrefix = `${new Date(d * DAY_S * 1000).toISOString().slice(0, 10)} `;
      }
      const s = t - d * DAY_S;
      chunk +=
        licencePrefixes[columns.licence[j]!]! +
        sourceFields[columns.source[j]!]! +
        kindFields[columns.kind[j]!]! +
        dayPrefix +
        TWO_DIGITS[Math.floor(s / 3600)]! +
        ':' +
        TWO_DIGITS[Math.floor(s / 60) % 60]! +
        ':' +
        TWO_DIGITS[s % 60]! +
        '+00\n';
      if (chunk.length >= COPY_CHUNK) {
        yield chunk;
        chunk = '';
      }
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Whether the server takes COPY FROM STDIN. PGlite served through pglite-socket does not: it
 * answers the copy data with "protocol synchronization was lost" and drops the connection,
 * so it is recognised by its version string rather than by trying.
 */
async function takesCopy(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ version: string }>('select version()');
  return !/PGlite/i.test(rows[0]?.version ?? '');
}

/**
 * Removes earlier seeded licences (and, by cascade, their events), then writes the
 * licences and events of `options`. Resolves to the counts written.
 */
export async function seed(
  data: Database,
  licences: LicenceService,
  options: SeedOptions,
  onProgress: (progress: SeedProgress) => void = () => {},
): Promise<SeedResult> {
  if (options.events > 0 && options.licences < 1) throw new TypeError('seed: events need at least one licence');
  const removed = await data.pool.query(`delete from licensing.licences where unique_id like $1`, [`${SEED_PREFIX}%`]);
  const planned = seedLicences(options);
  onProgress({ phase: 'licences', done: 0, total: planned.length });
  const ids = await licences.createMany(planned);
  onProgress({ phase: 'licences', done: ids.length, total: planned.length });
  const dictionary = ids.map((id, i) => ({ id, application: planned[i]!.application }));
  const batchSize = options.batchSize ?? 100_000;
  const sources = SOURCES.map(([s]) => s);
  const kinds = KINDS.map(([k]) => k);
  const copyTaken = await takesCopy(data.pool);
  if (options.via === 'copy' && !copyTaken) throw new RangeError(`seed: the database at ${data.label} does not take COPY FROM STDIN; write events via insert`);
  const via = options.via ?? (copyTaken ? 'copy' : 'insert');
  // COPY text fields, tab-terminated but for the last: a licence's id and application go together.
  const licencePrefixes = dictionary.map((l) => `${copyField(l.id)}\t${copyField(l.application)}\t`);
  const sourceFields = sources.map((s) => `${copyField(s)}\t`);
  const kindFields = kinds.map((k) => `${copyField(k)}\t`);
  const copyBatch = async (offset: number, count: number) => {
    const client = await data.pool.connect();
    try {
      const stream = client.query(copyFrom('copy licensing.licence_events (licence_id, application, source, kind, occurred_at) from stdin'));
      await pipeline(Readable.from(copyRows(options, licencePrefixes, sourceFields, kindFields, offset, count)), stream);
      client.release();
      return stream.rowCount;
    } catch (err) {
      // A COPY that failed half-way may leave the connection mid-protocol: close it, not reuse it.
      client.release(err as Error);
      throw err;
    }
  };
  let next = 0;
  let written = 0;
  const eventsStarted = performance.now();
  onProgress({ phase: 'events', done: 0, total: options.events });
  // A few writers take batches in turn: index maintenance and foreign-key checks are server
  // CPU work, so two statements in flight keep two server processes busy.
  const writer = async () => {
    while (next < options.events) {
      const offset = next;
      const count = Math.min(batchSize, options.events - offset);
      next += count;
      const n =
        via === 'copy'
          ? await copyBatch(offset, count)
          : await licences.recordEvents({ licences: dictionary, sources, kinds, ...seedEvents(options, offset, count) });
      written += n;
      onProgress({ phase: 'events', done: written, total: options.events });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, writer));
  return { licences: ids.length, events: written, removed: removed.rowCount ?? 0, eventsMs: performance.now() - eventsStarted, via };
}
