/** The renderer's settings from configuration (shared by src/main.ts, src/worker.ts and the test server). */
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { RendererOptions } from './renderer.ts';

export function rendererOptions(config: Config, logger: Logger): RendererOptions {
  return {
    executablePath: config.chromiumPath,
    pages: config.reportConcurrency,
    recycleAfter: config.reportChromiumRecycleAfter,
    timeoutMs: config.reportRenderTimeoutMs,
    logger: logger.child({ component: 'renderer' }),
  };
}
