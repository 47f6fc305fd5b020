/**
 * The plain data a report is built from. `WeeklyStatistics` is what the statistics service's
 * `weekly()` answers (issue 11); a report carries a copy, so templates, charts and the
 * worker tasks never reach a database.
 */

/** A week × column table: one row per ISO week (empty weeks present, with zeros), columns sorted. */
export interface Pivot {
  readonly columns: readonly string[];
  readonly rows: readonly {
    /** ISO week label, e.g. `2026-W14`. */
    readonly key: string;
    /** First day of the week (Monday) in the report's time zone, `YYYY-MM-DD`. */
    readonly start: string;
    /** One count per column, in `columns` order. */
    readonly values: readonly number[];
    readonly total: number;
  }[];
  /** Column totals, in `columns` order. */
  readonly totals: readonly number[];
  readonly grandTotal: number;
}

/** How often each kind of event occurred, and its share of all events (0–1). */
export interface KindFrequency {
  readonly kind: string;
  readonly count: number;
  readonly share: number;
}

/** Licence events per week, by application and by source, and per kind. */
export interface WeeklyStatistics {
  readonly from: string;
  readonly to: string;
  readonly timeZone: string;
  /** The applications asked for; null: every application. */
  readonly applications: readonly string[] | null;
  /** The sources asked for; null: every source. */
  readonly sources: readonly string[] | null;
  /** Week × application. */
  readonly summary: Pivot;
  readonly frequency: readonly KindFrequency[];
  /** Week × source. */
  readonly bySource: Pivot;
}

/** The report formats a job can produce. */
export type ReportFormat = 'PDF' | 'HTML' | 'CSV';

/** The kinds of report there are. */
export type ReportKind = 'WEEKLY_STATISTICS';

/** What a weekly statistics report was asked for (stored with the job). */
export interface WeeklyReportParameters {
  readonly from: string;
  readonly to: string;
  readonly applications: readonly string[] | null;
  readonly sources: readonly string[] | null;
  readonly timeZone: string;
}

/** Everything the templates need: the numbers, and when and for whom they were made. */
export interface WeeklyReportModel {
  readonly statistics: WeeklyStatistics;
  /** ISO instant the report was generated. */
  readonly generatedAt: string;
  /** Titles of the PDF appendices that follow the report (listed on its last page). */
  readonly appendices: readonly string[];
}

/** The file name a download gets: `weekly-statistics-<from>-<to>.<ext>`. */
export function reportFileName(kind: ReportKind, parameters: { from: string; to: string }, format: ReportFormat): string {
  const base = kind.toLowerCase().replace(/_/g, '-');
  return `${base}-${parameters.from}-${parameters.to}.${format.toLowerCase()}`;
}
