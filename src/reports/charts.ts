/**
 * Charts drawn on the server as SVG strings: no JavaScript runs in the page that shows them,
 * in a browser or in the PDF renderer. Scales and paths come from d3-scale and d3-shape
 * (pure functions, no DOM). Every label that came from data passes through {@link escapeXml}:
 * the SVG is inserted into the page as markup, so it must be safe markup.
 */
import { scaleBand, scaleLinear, scalePoint } from 'd3-scale';
import { line } from 'd3-shape';
import type { KindFrequency, Pivot } from './types.ts';

/** Colours for series, in order (Okabe–Ito, readable by people with colour-vision deficiencies). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'] as const;

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/** Longest label drawn in a chart before it is cut with an ellipsis (the tables show it whole). */
const MAX_LABEL = 28;
const clip = (label: string) => (label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label);

const round = (n: number) => Math.round(n * 10) / 10;

/** Ticks for a count axis: whole numbers only. */
function countTicks(max: number): number[] {
  const ticks = scaleLinear()
    .domain([0, Math.max(max, 1)])
    .nice()
    .ticks(5);
  return ticks.filter((t) => Number.isInteger(t));
}

const WIDTH = 720;

/**
 * Weekly totals per column of `pivot` (per application) as lines, with a legend.
 * Returns an empty string when the pivot has no rows or no columns.
 */
export function weeklyLineChart(pivot: Pivot, title: string): string {
  if (pivot.rows.length === 0 || pivot.columns.length === 0) return '';
  const legendRows = Math.ceil(pivot.columns.length / 3);
  const margin = { top: 16, right: 16, bottom: 40 + legendRows * 18, left: 48 };
  const height = 300 + legendRows * 18;
  const max = Math.max(0, ...pivot.rows.flatMap((r) => r.values));
  const x = scalePoint<string>()
    .domain(pivot.rows.map((r) => r.key))
    .range([margin.left, WIDTH - margin.right])
    .padding(0.3);
  const y = scaleLinear()
    .domain([0, Math.max(max, 1)])
    .nice()
    .range([height - margin.bottom, margin.top]);
  const every = Math.max(1, Math.ceil(pivot.rows.length / 12));
  const parts: string[] = [];
  for (const t of countTicks(max)) {
    parts.push(
      `<line x1="${margin.left}" x2="${WIDTH - margin.right}" y1="${round(y(t))}" y2="${round(y(t))}" class="grid"/>`,
      `<text x="${margin.left - 6}" y="${round(y(t)) + 4}" text-anchor="end" class="tick">${t}</text>`,
    );
  }
  pivot.rows.forEach((row, i) => {
    if (i % every !== 0) return;
    const px = round(x(row.key) ?? 0);
    parts.push(`<text x="${px}" y="${height - margin.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(row.key.replace(/^\d{4}-/, ''))}</text>`);
  });
  pivot.columns.forEach((column, c) => {
    const colour = PALETTE[c % PALETTE.length]!;
    const path = line<Pivot['rows'][number]>()
      .x((r) => x(r.key) ?? 0)
      .y((r) => y(r.values[c] ?? 0))
      .digits(1)(pivot.rows);
    parts.push(`<path d="${path ?? ''}" fill="none" stroke="${colour}" stroke-width="2"><title>${escapeXml(column)}</title></path>`);
    for (const r of pivot.rows) {
      parts.push(`<circle cx="${round(x(r.key) ?? 0)}" cy="${round(y(r.values[c] ?? 0))}" r="2.5" fill="${colour}"/>`);
    }
    const lx = margin.left + (c % 3) * 220;
    const ly = height - margin.bottom + 36 + Math.floor(c / 3) * 18;
    parts.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${lx + 18}" y="${ly + 1}" class="legend">${escapeXml(clip(column))}</text>`,
    );
  });
  return svg(title, height, parts);
}

/** Event counts per kind as horizontal bars, largest first, with counts and shares. */
export function kindBarChart(frequency: readonly KindFrequency[], title: string): string {
  if (frequency.length === 0) return '';
  const sorted = [...frequency].sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
  const margin = { top: 8, right: 120, bottom: 24, left: 180 };
  const height = margin.top + margin.bottom + sorted.length * 28;
  const x = scaleLinear()
    .domain([0, Math.max(1, ...sorted.map((f) => f.count))])
    .nice()
    .range([margin.left, WIDTH - margin.right]);
  const y = scaleBand<string>()
    .domain(sorted.map((f) => f.kind))
    .range([margin.top, height - margin.bottom])
    .padding(0.2);
  const parts: string[] = [];
  sorted.forEach((f, i) => {
    const top = round(y(f.kind) ?? 0);
    const barWidth = round(x(f.count) - margin.left);
    const mid = round(top + y.bandwidth() / 2 + 4);
    parts.push(
      `<text x="${margin.left - 8}" y="${mid}" text-anchor="end" class="label">${escapeXml(clip(f.kind))}</text>`,
      `<rect x="${margin.left}" y="${top}" width="${barWidth}" height="${round(y.bandwidth())}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeXml(f.kind)}</title></rect>`,
      `<text x="${margin.left + barWidth + 6}" y="${mid}" class="value">${f.count} (${(f.share * 100).toFixed(1)}%)</text>`,
    );
  });
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${height - margin.bottom}" class="axis"/>`);
  return svg(title, height, parts);
}

function svg(title: string, height: number, parts: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}" class="chart">` +
    `<title>${escapeXml(title)}</title>${parts.join('')}</svg>`
  );
}
