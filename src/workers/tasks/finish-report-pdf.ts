/**
 * Worker task `finishReportPdf`: appends the report's PDF appendices, stamps "page X of Y" on
 * every page, writes the outline and metadata (src/reports/pdf.ts). The appendix files are
 * read once per thread and kept.
 */
import { readFile } from 'node:fs/promises';
import { finishPdf } from '../../reports/pdf.ts';

export interface FinishReportPdfInput {
  /** What Chromium printed. */
  readonly pdf: Uint8Array;
  /** The report's title (outline and metadata). */
  readonly title: string;
  readonly generatedAt: string;
  /** Appended in order: a title for the outline and the absolute path of the PDF. */
  readonly appendices: readonly { readonly title: string; readonly file: string }[];
}

export interface FinishReportPdfOutput {
  readonly pdf: Uint8Array;
  readonly pageCount: number;
}

const files = new Map<string, Promise<Uint8Array>>();

function appendixBytes(file: string): Promise<Uint8Array> {
  let bytes = files.get(file);
  if (!bytes) {
    bytes = readFile(file);
    bytes.catch(() => files.delete(file));
    files.set(file, bytes);
  }
  return bytes;
}

export default async function finishReportPdf(input: FinishReportPdfInput): Promise<FinishReportPdfOutput> {
  const appendices = await Promise.all(input.appendices.map(async (a) => ({ title: a.title, bytes: await appendixBytes(a.file) })));
  const finished = await finishPdf({ report: { title: input.title, bytes: input.pdf }, appendices, title: input.title, generatedAt: input.generatedAt });
  return { pdf: finished.bytes, pageCount: finished.pageCount };
}
