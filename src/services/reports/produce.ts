/**
 * One report from parameters to bytes, and where each step runs:
 * 1. the numbers: the statistics service (its query in PostgreSQL);
 * 2. HTML with inline SVG charts, or CSV: the worker pool (`renderReport`: CPU work);
 * 3. for a PDF, printing: Chromium, in its own processes, driven from this thread over a pipe;
 * 4. for a PDF, appendices, page numbers and outline: the worker pool (`finishReportPdf`).
 * The render loop (runner.ts) calls it for each job; bench/pdf.ts calls it directly.
 */
import { createHash } from 'node:crypto';
import { APPENDICES, type AppendixName } from '../../reports/appendices.ts';
import { WEEKLY_REPORT_TITLE } from '../../reports/html.ts';
import type { Renderer } from '../../reports/renderer.ts';
import type { ReportFormat, WeeklyReportParameters } from '../../reports/types.ts';
import type { WorkerPool } from '../../workers/pool.ts';
import type { TASKS } from '../../workers/tasks.ts';
import type { Caller } from '../auth/caller.ts';
import type { WeeklyStatisticsSource } from './statistics-source.ts';

export const CONTENT_TYPES: Readonly<Record<ReportFormat, string>> = {
  PDF: 'application/pdf',
  HTML: 'text/html; charset=utf-8',
  CSV: 'text/csv; charset=utf-8',
};

export interface ProduceDeps {
  readonly statistics: WeeklyStatisticsSource;
  readonly pool: WorkerPool<typeof TASKS>;
  /** Needed for PDFs only. */
  readonly renderer: Renderer | undefined;
  /** Appendices merged after a PDF. */
  readonly appendices: readonly string[];
  readonly now: () => Date;
}

export interface ProduceJob {
  readonly caller: Caller;
  readonly format: ReportFormat;
  readonly parameters: WeeklyReportParameters;
  /** Time limit of the worker-pool steps, ms (what is left of the attempt's limit). */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** Called as steps finish, with 0–100. */
  readonly progress?: (percent: number) => Promise<void>;
}

export interface ProducedReport {
  readonly bytes: Uint8Array;
  readonly contentType: string;
  readonly pageCount: number | null;
  /** base64url SHA-256 of the bytes (the download's ETag). */
  readonly sha256: string;
}

export class NoRendererError extends Error {
  constructor() {
    super('this process has no PDF renderer');
    this.name = 'NoRendererError';
  }
}

const remaining = (deadline: number) => Math.max(1, Math.round(deadline - performance.now()));

export async function produceReport(deps: ProduceDeps, job: ProduceJob): Promise<ProducedReport> {
  const progress = job.progress ?? (async () => {});
  const { signal } = job;
  await progress(5);
  const statistics = await deps.statistics.weekly(job.caller, job.parameters);
  await progress(30);
  const appendices = job.format === 'PDF' ? deps.appendices.map((name) => APPENDICES[name as AppendixName]) : [];
  const generatedAt = deps.now().toISOString();
  const { body } = await deps.pool.defer(
    { kind: 'renderReport', input: { format: job.format, model: { statistics, generatedAt, appendices: appendices.map((a) => a.title) } } },
    { signal, timeoutMs: remaining(job.deadline) },
  );
  let bytes: Uint8Array;
  let pageCount: number | null = null;
  if (job.format === 'PDF') {
    if (!deps.renderer) throw new NoRendererError();
    await progress(50);
    const printed = await deps.renderer.pdf(body);
    await progress(80);
    const finished = await deps.pool.defer(
      {
        kind: 'finishReportPdf',
        input: { pdf: printed, title: WEEKLY_REPORT_TITLE, generatedAt, appendices: appendices.map((a) => ({ title: a.title, file: a.file })) },
      },
      { signal, timeoutMs: remaining(job.deadline) },
    );
    bytes = finished.pdf;
    pageCount = finished.pageCount;
  } else {
    bytes = Buffer.from(body, 'utf8');
  }
  await progress(95);
  return { bytes, contentType: CONTENT_TYPES[job.format], pageCount, sha256: createHash('sha256').update(bytes).digest('base64url') };
}
