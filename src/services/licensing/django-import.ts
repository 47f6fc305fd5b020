/**
 * Imports the old Django app's `License` rows (username, application, unique_id, license,
 * active, expiration_date) into Strongroom licences.
 *
 * The licence column was a django-fernet-fields `EncryptedTextField`: a BinaryField, so
 * PostgreSQL holds the Fernet token's ASCII bytes in a `bytea`, and Django's own dumps
 * (`dumpdata`, and anything else that serialises a BinaryField) carry those bytes in standard
 * base64. Both forms are accepted, and the token as text too: a token is URL-safe base64
 * starting `gAAAAA` (version 0x80, then a timestamp whose high bytes are zero), and its
 * standard base64 starts `Z0FBQUFB`, so the two never overlap.
 *
 * Each key is decrypted with the old app's Fernet key and sealed again under the keyring's
 * primary key by the licence service. Rows are read in batches keyed on unique_id, and each
 * batch is one insert that skips licences already there: a rerun writes nothing twice. A row
 * that does not decrypt, or lacks a field, is refused with its reason and the others go on.
 */
import type pg from 'pg';
import { Fernet, FernetError } from '../../crypto/fernet.ts';
import type { NewLicence } from '../licences.ts';

/** Why a row was not imported. */
export interface Refusal {
  /** The row's unique_id (or its position when it has none). */
  readonly row: string;
  readonly reason: string;
}

export interface ImportSummary {
  read: number;
  written: number;
  /** Already imported (a licence with this unique_id exists). */
  duplicates: number;
  refused: Refusal[];
}

export interface ImportTarget {
  /**
   * Inserts what is not there yet; resolves to the unique ids written, and to those refused
   * because another licence holds the (username, application) pair or the key.
   */
  importBatch(inputs: readonly NewLicence[]): Promise<{ written: readonly string[]; duplicates: readonly string[]; conflicts: readonly Refusal[] }>;
}

export interface DjangoImportOptions {
  readonly source: pg.Pool;
  /** The table, optionally schema-qualified: `licensing_license` or `public.licensing_license`. */
  readonly table: string;
  /** The old app's Fernet key (`FERNET_KEYS`/`SECRET_KEY`-derived), URL-safe base64 of 32 bytes. */
  readonly fernetKey: string;
  readonly target: ImportTarget;
  /** Rows per batch (default 1000). */
  readonly batchSize?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `table` as a quoted SQL name; a TypeError for anything but one or two plain identifiers. */
export function quoteTable(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p)))
    throw new TypeError('the table must be a name like licensing_license or public.licensing_license');
  return parts.map((p) => `"${p}"`).join('.');
}

const TOKEN_PREFIX = 'gAAAAA';

/** The Fernet token inside a stored value: bytea bytes, the token as text, or standard base64 of it. */
export function tokenOf(value: unknown): string | undefined {
  const text = Buffer.isBuffer(value) ? value.toString('latin1') : typeof value === 'string' ? value : undefined;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed.startsWith(TOKEN_PREFIX)) return trimmed;
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    const decoded = Buffer.from(trimmed, 'base64').toString('latin1').trim();
    if (decoded.startsWith(TOKEN_PREFIX)) return decoded;
  }
  return undefined;
}

interface SourceRow {
  username: unknown;
  application: unknown;
  unique_id: unknown;
  license: unknown;
  active: unknown;
  expiration_date: unknown;
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The licence a row describes, or why it cannot be imported. */
function convert(row: SourceRow, fernet: Fernet, position: number): NewLicence | Refusal {
  const uniqueId = text(row.unique_id);
  const name = uniqueId ?? `row ${position}`;
  if (!uniqueId) return { row: name, reason: 'no unique_id' };
  const username = text(row.username);
  const application = text(row.application);
  if (!username) return { row: name, reason: 'no username' };
  if (!application) return { row: name, reason: 'no application' };
  const token = tokenOf(row.license);
  if (!token) return { row: name, reason: 'the licence column holds no Fernet token' };
  let licenceKey: string;
  try {
    licenceKey = fernet.decrypt(token);
  } catch (err) {
    if (err instanceof FernetError) return { row: name, reason: `the licence does not decrypt with the given key (${err.reason})` };
    throw err;
  }
  if (!text(licenceKey)) return { row: name, reason: 'the licence decrypts to an empty key' };
  const expires = row.expiration_date;
  const expiresAt = expires === null || expires === undefined ? null : new Date(expires as string | Date);
  if (expiresAt && Number.isNaN(expiresAt.getTime())) return { row: name, reason: 'expiration_date is not a date' };
  return { username, application, uniqueId, licenceKey, active: row.active !== false, expiresAt };
}

/** Imports every row of `options.table`; resolves to the summary. */
export async function importDjangoLicences(options: DjangoImportOptions): Promise<ImportSummary> {
  const fernet = new Fernet(options.fernetKey);
  const table = quoteTable(options.table);
  const batchSize = options.batchSize ?? 1000;
  const total = Number((await options.source.query<{ n: string }>(`select count(*)::text as n from ${table}`)).rows[0]!.n);
  const summary: ImportSummary = { read: 0, written: 0, duplicates: 0, refused: [] };
  options.onProgress?.(0, total);
  // Keyed on unique_id (unique in the Django model); rows without one come first, once.
  const { rows: orphans } = await options.source.query<SourceRow>(
    `select username, application, unique_id, license, active, expiration_date from ${table} where unique_id is null`,
  );
  let after: string | null = null;
  let batch: SourceRow[] = orphans;
  for (;;) {
    const inputs: NewLicence[] = [];
    for (const row of batch) {
      summary.read++;
      const converted = convert(row, fernet, summary.read);
      if ('reason' in converted) summary.refused.push(converted);
      else inputs.push(converted);
    }
    if (inputs.length > 0) {
      const result = await options.target.importBatch(inputs);
      summary.written += result.written.length;
      summary.duplicates += result.duplicates.length;
      summary.refused.push(...result.conflicts);
    }
    options.onProgress?.(summary.read, total);
    const next: { rows: SourceRow[] } = await options.source.query<SourceRow>(
      `select username, application, unique_id, license, active, expiration_date from ${table}
        where unique_id is not null and ($1::text is null or unique_id::text > $1) order by unique_id::text limit $2`,
      [after, batchSize],
    );
    if (next.rows.length === 0) break;
    batch = next.rows;
    after = String(batch.at(-1)!.unique_id);
  }
  return summary;
}
