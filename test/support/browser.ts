import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export interface TestBrowser {
  /** The one context of the launched profile (its own storage, no cookies, in a temp folder). */
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Debian's chromium, headless, driven by playwright-core. Everything that would talk to Google on its own
 * (sync, component updates, background fetches, QUIC probes) is off, so the only traffic is to our loopback server.
 * Playwright refuses `--user-data-dir` in `args`; a persistent context on a new temp folder is the same thing,
 * and the folder is removed on close.
 */
export const launchBrowser = async ({ executablePath = '/usr/bin/chromium' }: { executablePath?: string } = {}): Promise<TestBrowser> => {
  const userDataDir = await mkdtemp(join(tmpdir(), 'hashsend-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      timeout: 30_000,
      viewport: { width: 1280, height: 860 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
};
