/**
 * Pre-generated PDF appendices a report may carry, kept as files beside this module. They are
 * merged after the report (src/reports/pdf.ts); `scripts/report-appendices.ts` renders them
 * from their HTML sources when the text changes.
 */
import { fileURLToPath } from 'node:url';

export interface Appendix {
  /** Shown in the report's list of appendices and in the PDF outline. */
  readonly title: string;
  /** Absolute path of the PDF. */
  readonly file: string;
  /** Absolute path of the HTML it is rendered from. */
  readonly source: string;
}

const here = (name: string) => fileURLToPath(new URL(`./appendices/${name}`, import.meta.url));

/** Every appendix there is, by name. */
export const APPENDICES = {
  'terms-of-licence': { title: 'Terms of licence', file: here('terms-of-licence.pdf'), source: here('terms-of-licence.html') },
} as const satisfies Readonly<Record<string, Appendix>>;

export type AppendixName = keyof typeof APPENDICES;

export const APPENDIX_NAMES = Object.keys(APPENDICES) as readonly AppendixName[];
