/**
 * Worker task `weeklyStatistics`: shapes the counts PostgreSQL aggregated into the tables a
 * dashboard draws without reshaping (two pivots and a frequency table). Plain data in, plain
 * data out; imports only the pure calendar module.
 */
import { formatDate, isoWeekLabel } from '../../services/statistics/calendar.ts';

/** A table with one row per week and one column per application (or source). */
export interface Pivot {
  /** Column names, sorted. */
  readonly columns: string[];
  /** One row per week of the range, in order, weeks without events included (all zeros). */
  readonly rows: PivotRow[];
  /** Per column, the sum over the rows. */
  readonly totals: number[];
  readonly grandTotal: number;
}

export interface PivotRow {
  /** ISO week, as pandas' `%G-W%V` writes it: `2026-W14`. */
  readonly key: string;
  /** The week's Monday, `YYYY-MM-DD` (local date). */
  readonly start: string;
  /** Counts in `columns` order. */
  readonly values: number[];
  readonly total: number;
}

export interface KindFrequency {
  readonly kind: string;
  readonly count: number;
  /** count ÷ the total of the range (0 … 1). */
  readonly share: number;
}

export interface WeeklyShapeInput {
  /** The Monday (day number since 1970-01-01) of each week, in order; a count's label indexes this. */
  readonly mondays: readonly number[];
  /** Columns asked for (sorted), or null: every name with events. */
  readonly applications: readonly string[] | null;
  readonly sources: readonly string[] | null;
  readonly counts: readonly { readonly set: 'application' | 'source' | 'kind'; readonly label: number; readonly name: string; readonly events: number }[];
}

export interface WeeklyShapeOutput {
  readonly summary: Pivot;
  readonly frequency: KindFrequency[];
  readonly bySource: Pivot;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function pivot(mondays: readonly number[], asked: readonly string[] | null, counts: WeeklyShapeInput['counts']): Pivot {
  const columns = asked ? [...asked] : [...new Set(counts.filter((c) => c.events !== 0).map((c) => c.name))].sort(byName);
  const index = new Map(columns.map((name, i) => [name, i]));
  const cells = mondays.map(() => new Array<number>(columns.length).fill(0));
  for (const c of counts) {
    if (c.events === 0) continue;
    const column = index.get(c.name);
    const row = cells[c.label];
    // Names outside the filter cannot occur (PostgreSQL filtered them); a label outside the range would be a bug.
    if (column === undefined || row === undefined) throw new TypeError(`count outside the table: week ${c.label}, column ${c.name}`);
    row[column]! += c.events;
  }
  const totals = new Array<number>(columns.length).fill(0);
  const rows = mondays.map((monday, k) => {
    const values = cells[k]!;
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      total += values[i]!;
      totals[i]! += values[i]!;
    }
    return { key: isoWeekLabel(monday), start: formatDate(monday), values, total };
  });
  return { columns, rows, totals, grandTotal: totals.reduce((a, b) => a + b, 0) };
}

/** The three tables; pure, so it can also run outside a worker (tests, a report renderer). */
export function shapeWeeklyStatistics(input: WeeklyShapeInput): WeeklyShapeOutput {
  const summary = pivot(
    input.mondays,
    input.applications,
    input.counts.filter((c) => c.set === 'application'),
  );
  const bySource = pivot(
    input.mondays,
    input.sources,
    input.counts.filter((c) => c.set === 'source'),
  );
  const kinds = input.counts.filter((c) => c.set === 'kind' && c.events !== 0);
  const total = kinds.reduce((sum, c) => sum + c.events, 0);
  // As pandas' value_counts(): most frequent first; ties by name, so the order is stable.
  const frequency = kinds
    .map((c) => ({ kind: c.name, count: c.events, share: total === 0 ? 0 : c.events / total }))
    .sort((a, b) => b.count - a.count || byName(a.kind, b.kind));
  return { summary, frequency, bySource };
}

export default async function weeklyStatistics(input: WeeklyShapeInput): Promise<WeeklyShapeOutput> {
  return shapeWeeklyStatistics(input);
}
