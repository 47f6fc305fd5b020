/**
 * Headless Chromium for browser tests. puppeteer-core downloads nothing, so the executable is the
 * system one: PUPPETEER_EXECUTABLE_PATH, else Debian's /usr/bin/chromium.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Flags for a sandbox-less container and a closed network: no GPU, no /dev/shm, no background calls home. */
export const BROWSER_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/**
 * Launches headless Chromium with a fresh temporary profile (no state shared between tests);
 * `browser.close()` also deletes that profile directory.
 */
export async function launchBrowser(options: { extraArgs?: readonly string[] } = {}): Promise<Browser> {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'strongroom-chromium-'));
  const removeProfile = (): Promise<void> => rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || '/usr/bin/chromium',
      headless: true,
      userDataDir,
      args: [...BROWSER_ARGS, ...(options.extraArgs ?? [])],
    });
  } catch (error) {
    await removeProfile();
    throw error;
  }
  const close = browser.close.bind(browser);
  browser.close = async () => {
    try {
      await close();
    } finally {
      await removeProfile();
    }
  };
  return browser;
}
