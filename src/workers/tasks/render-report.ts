/**
 * Worker task `renderReport`: the report's HTML (for the PDF printer or the HTML download) or
 * its CSV, with the SVG charts drawn here. Plain data in (the statistics the job fetched),
 * a string out; imports only the pure report modules.
 */
import { renderWeeklyReportCsv } from '../../reports/csv.ts';
import { renderWeeklyReportHtml } from '../../reports/html.ts';
import type { ReportFormat, WeeklyReportModel } from '../../reports/types.ts';

export interface RenderReportInput {
  readonly format: ReportFormat;
  readonly model: WeeklyReportModel;
}

export interface RenderReportOutput {
  /** HTML (PDF and HTML formats) or CSV. */
  readonly body: string;
}

export default async function renderReport(input: RenderReportInput): Promise<RenderReportOutput> {
  switch (input.format) {
    case 'PDF':
      // The PDF's "page X of Y" is stamped after the appendices are merged.
      return { body: renderWeeklyReportHtml(input.model, { stampedFooter: true }) };
    case 'HTML':
      return { body: renderWeeklyReportHtml(input.model) };
    case 'CSV':
      return { body: renderWeeklyReportCsv(input.model.statistics) };
    default: {
      const unknown: never = input.format;
      throw new TypeError(`unknown report format ${String(unknown)}`);
    }
  }
}
