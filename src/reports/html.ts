/**
 * The weekly statistics report as one HTML document: handlebars templates, inline CSS and
 * inline SVG charts. Pure (no I/O after the templates are read once), so it runs in a worker
 * thread. Data is inserted with `{{…}}`, which HTML-escapes it; only markup we build
 * ourselves (the CSS, the @page rules, the SVG charts, whose labels are escaped in charts.ts)
 * is inserted raw with `{{{…}}}`.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { kindBarChart, weeklyLineChart } from './charts.ts';
import type { WeeklyReportModel } from './types.ts';

/** The report's title, on the page, in the PDF's metadata and its outline. */
export const WEEKLY_REPORT_TITLE = 'Weekly licence statistics';

const templateFile = (name: string) => readFileSync(new URL(`./templates/${name}`, import.meta.url), 'utf8');

let compiled: { page: Handlebars.TemplateDelegate; styles: string } | undefined;

/** Compiles the templates on first use, in an isolated handlebars environment. */
function templates() {
  if (!compiled) {
    const hbs = Handlebars.create();
    hbs.registerPartial('pivot', templateFile('pivot.hbs'));
    hbs.registerHelper('percent', (share: unknown) => (typeof share === 'number' ? `${(share * 100).toFixed(1)}%` : ''));
    compiled = {
      page: hbs.compile(templateFile('weekly-statistics.hbs'), { strict: false, knownHelpersOnly: false }),
      styles: templateFile('report.css'),
    };
  }
  return compiled;
}

/** A CSS string literal: quotes, backslashes, line breaks and `<` (no `</style>`) escaped. */
export function cssString(text: string): string {
  return `"${text.replace(/[\\"\n\r<>]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}"`;
}

export interface HtmlOptions {
  /**
   * Leave the "page X of Y" footer out of the @page rules: the PDF path stamps it after the
   * appendices are merged, so the count covers them. Default false (the HTML download prints
   * its own footer).
   */
  readonly stampedFooter?: boolean;
}

const MARGIN_BOX = 'font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 8pt; color: #5b6475;';

function pageRules(model: WeeklyReportModel, options: HtmlOptions): string {
  const { statistics: s } = model;
  const footer = options.stampedFooter ? '' : `@bottom-center { content: "page " counter(page) " of " counter(pages); ${MARGIN_BOX} }`;
  return (
    `@page { size: A4; margin: 18mm 14mm 18mm 14mm;` +
    ` @top-left { content: ${cssString(WEEKLY_REPORT_TITLE)}; ${MARGIN_BOX} }` +
    ` @top-right { content: ${cssString(`${s.from} – ${s.to} (${s.timeZone})`)}; ${MARGIN_BOX} } ${footer} }`
  );
}

/** When the report was made, for people: `2026-04-06 09:15 UTC`. */
export function formatGeneratedAt(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Renders the report's HTML document. */
export function renderWeeklyReportHtml(model: WeeklyReportModel, options: HtmlOptions = {}): string {
  const { page, styles } = templates();
  const { statistics } = model;
  const empty = statistics.summary.grandTotal === 0;
  return page({
    title: WEEKLY_REPORT_TITLE,
    statistics,
    generatedAt: model.generatedAt,
    generatedAtText: formatGeneratedAt(model.generatedAt),
    appendices: model.appendices,
    empty,
    filtered: statistics.applications !== null || statistics.sources !== null,
    stampedFooter: options.stampedFooter === true,
    styles: `${styles}\n${pageRules(model, options)}`,
    lineChart: empty ? '' : weeklyLineChart(statistics.summary, 'Weekly events per application'),
    barChart: empty ? '' : kindBarChart(statistics.frequency, 'Events by kind'),
  });
}
