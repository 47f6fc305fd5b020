/**
 * The last step of a PDF report, after Chromium has printed it: pre-generated appendices
 * are appended with pdf-lib, "page X of Y" is stamped on every page (so the count covers the
 * appendices), the outline gets an entry per part, and the document's metadata is set. Pure
 * (bytes in, bytes out), so it runs in a worker thread.
 *
 * pdf-lib has no outline API: the /Outlines dictionary and its items are written by hand
 * (PDF 32000-1:2008, 12.3.3 "Document Outline").
 */
import { ParseSpeeds, PDFDict, PDFDocument, PDFHexString, PDFName, type PDFRef, PDFString, rgb, StandardFonts } from 'pdf-lib';

export interface PdfPart {
  /** Shown in the outline. */
  readonly title: string;
  readonly bytes: Uint8Array;
}

export interface FinishPdfInput {
  /** What Chromium printed. */
  readonly report: PdfPart;
  /** Appended in order after the report. */
  readonly appendices: readonly PdfPart[];
  /** The document title (metadata). */
  readonly title: string;
  /** When the report was generated (ISO); the document's creation date. */
  readonly generatedAt: string;
}

export interface FinishedPdf {
  readonly bytes: Uint8Array;
  readonly pageCount: number;
}

/** Footer text size and its distance from the bottom edge, in points. */
const FOOTER_SIZE = 8;
const FOOTER_Y = 24;

function addOutline(doc: PDFDocument, entries: readonly { title: string; page: PDFRef }[]): void {
  if (entries.length === 0) return;
  const { context } = doc;
  const root = context.nextRef();
  const items = entries.map(() => context.nextRef());
  entries.forEach((entry, i) => {
    const item: Record<string, unknown> = {
      Title: PDFHexString.fromText(entry.title),
      Parent: root,
      // Show the whole first page of the part.
      Dest: [entry.page, 'Fit'],
    };
    if (i > 0) item.Prev = items[i - 1];
    if (i < entries.length - 1) item.Next = items[i + 1];
    context.assign(items[i]!, context.obj(item as never));
  });
  context.assign(root, context.obj({ Type: 'Outlines', First: items[0]!, Last: items[items.length - 1]!, Count: entries.length }));
  doc.catalog.set(PDFName.of('Outlines'), root);
  doc.catalog.set(PDFName.of('PageMode'), PDFName.of('UseOutlines'));
}

/** Merges, stamps page numbers, writes the outline and metadata. */
export async function finishPdf(input: FinishPdfInput): Promise<FinishedPdf> {
  const doc = await PDFDocument.load(input.report.bytes, { updateMetadata: false, parseSpeed: ParseSpeeds.Fastest });
  const outline = [{ title: input.report.title, page: doc.getPage(0).ref }];
  for (const appendix of input.appendices) {
    const source = await PDFDocument.load(appendix.bytes, { updateMetadata: false, parseSpeed: ParseSpeeds.Fastest });
    const pages = await doc.copyPages(source, source.getPageIndices());
    pages.forEach((page, i) => {
      doc.addPage(page);
      if (i === 0) outline.push({ title: appendix.title, page: page.ref });
    });
  }
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const pages = doc.getPages();
  const total = pages.length;
  pages.forEach((page, i) => {
    const text = `page ${i + 1} of ${total}`;
    const width = font.widthOfTextAtSize(text, FOOTER_SIZE);
    page.drawText(text, { x: (page.getWidth() - width) / 2, y: FOOTER_Y, size: FOOTER_SIZE, font, color: rgb(0.36, 0.39, 0.46) });
  });
  addOutline(doc, outline);
  doc.setTitle(input.title, { showInWindowTitleBar: true });
  doc.setCreator('Strongroom');
  doc.setProducer('Strongroom (Chromium, pdf-lib)');
  doc.setCreationDate(new Date(input.generatedAt));
  doc.setModificationDate(new Date(input.generatedAt));
  const bytes = await doc.save({ useObjectStreams: false, objectsPerTick: Number.POSITIVE_INFINITY });
  return { bytes, pageCount: total };
}

/** The titles of a PDF's top-level outline entries, in order (for tests and checks). */
export async function outlineTitles(bytes: Uint8Array): Promise<string[]> {
  const doc = await PDFDocument.load(bytes, { updateMetadata: false });
  const outlines = doc.catalog.lookupMaybe(PDFName.of('Outlines'), PDFDict);
  const titles: string[] = [];
  let item = outlines?.lookupMaybe(PDFName.of('First'), PDFDict);
  // Bounded: a malformed Next chain must not loop forever.
  for (let n = 0; item && n < 1000; n++) {
    const title = item.lookup(PDFName.of('Title'));
    if (title instanceof PDFHexString || title instanceof PDFString) titles.push(title.decodeText());
    item = item.lookupMaybe(PDFName.of('Next'), PDFDict);
  }
  return titles;
}
