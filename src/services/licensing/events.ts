/** Many licence events in one statement (the seed's path: a million rows cost little to send). */
import type { Pool } from 'pg';
import { required } from './records.ts';

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

const intArray = (values: ArrayLike<number>) => `{${Array.prototype.join.call(values, ',')}}`;

/** Writes `batch`; resolves to the number of rows written. */
export async function recordEventBatch(pool: Pool, batch: EventBatch): Promise<number> {
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
}
