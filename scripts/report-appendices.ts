/**
 * `node --import tsx scripts/report-appendices.ts`: renders each report appendix from its HTML
 * source (src/reports/appendices/*.html) to the PDF committed beside it, with the same
 * Chromium and settings as the report renderer. Run it after changing an appendix's text.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { APPENDICES } from '../src/reports/appendices.ts';
import { createRenderer } from '../src/reports/renderer.ts';
import { createProgress } from './lib/progress.ts';

const config = loadConfig();
const renderer = createRenderer({
  executablePath: config.chromiumPath,
  pages: 1,
  recycleAfter: 0,
  timeoutMs: config.reportRenderTimeoutMs,
  logger: createLogger('warn'),
});
const entries = Object.entries(APPENDICES);
const progress = createProgress({ label: 'render', total: entries.length });
try {
  for (const [i, [, appendix]] of entries.entries()) {
    const pdf = await renderer.pdf(await readFile(appendix.source, 'utf8'));
    // Part of the source tree, not private data: readable like every other committed file.
    await writeFile(appendix.file, pdf, { mode: 0o644 });
    progress.update(i + 1);
  }
  progress.finish();
} finally {
  await renderer.close();
}
