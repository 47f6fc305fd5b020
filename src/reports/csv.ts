/**
 * The weekly statistics report as CSV (RFC 4180): the three tables one after another, each
 * under a one-cell heading line and separated by an empty line. Text cells that a spreadsheet
 * would run as a formula (starting with =, +, -, @, tab or carriage return) get a leading `'`
 * (OWASP "CSV injection"); numbers are written as they are.
 */
import type { Pivot, WeeklyStatistics } from './types.ts';

/** One CSV field: quoted when it must be, defused when a spreadsheet would evaluate it. */
export function csvField(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const row = (cells: (string | number)[]) => cells.map(csvField).join(',');

function pivotLines(title: string, pivot: Pivot): string[] {
  return [
    row([title]),
    row(['week', 'starts', ...pivot.columns, 'total']),
    ...pivot.rows.map((r) => row([r.key, r.start, ...r.values, r.total])),
    row(['total', '', ...pivot.totals, pivot.grandTotal]),
  ];
}

/** The three tables of the report; lines end with CRLF as RFC 4180 says. */
export function renderWeeklyReportCsv(statistics: WeeklyStatistics): string {
  const lines = [
    ...pivotLines('Events per week and application', statistics.summary),
    '',
    row(['Events by kind']),
    row(['kind', 'events', 'share']),
    ...statistics.frequency.map((f) => row([f.kind, f.count, Number(f.share.toFixed(6))])),
    row(['total', statistics.summary.grandTotal, statistics.frequency.length > 0 ? 1 : 0]),
    '',
    ...pivotLines('Events per week and source', statistics.bySource),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
