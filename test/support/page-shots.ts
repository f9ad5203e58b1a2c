import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Page } from 'playwright-core';

export interface PageShots {
  /** A full-page PNG named `name`, its path told as a test diagnostic. */
  shoot(t: TestContext, page: Page, name: string): Promise<void>;
  /** Removes the folder, unless KEEP_SCREENSHOTS is set (to look at them after the run). */
  close(): Promise<void>;
}

/** Screenshots of the operator page in a temp folder, for a person to look at; nothing compares them. */
export const pageShots = async (): Promise<PageShots> => {
  const dir = await mkdtemp(join(tmpdir(), 'hashsend-page-shots-'));
  return {
    async shoot(t, page, name) {
      const path = join(dir, `${name}.png`);
      // A full-page shot of a scrolled page draws the sticky top bar where the view was.
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path, fullPage: true });
      t.diagnostic(`screenshot: ${path}`);
    },
    close: () => (process.env.KEEP_SCREENSHOTS ? Promise.resolve() : rm(dir, { recursive: true, force: true })),
  };
};
