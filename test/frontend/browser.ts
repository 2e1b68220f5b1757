/**
 * Real-browser tests run Debian's chromium (/usr/bin/chromium) through playwright-core; npm's own browser downloads
 * do not work on these machines. Without chromium a developer's run skips loudly; with CI=true it fails.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers/paths.ts';
import { unavailable } from '../helpers/unavailable.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'screenshots');

/** Why browser tests cannot run here, or undefined when they can. Throws under CI=true. */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return unavailable(`chromium not found at ${CHROMIUM} (apt-get install chromium)`, 'browser tests');
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launch(): Promise<BrowserSession> {
  // A fresh profile per run: no state from an earlier run or another suite leaks in.
  const profile = mkdtempSync(join(tmpdir(), 'smime-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  return {
    browser: context.browser()!,
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      if (errors.length && process.env.SMIME_TEST_SHOW_PAGE_ERRORS) console.warn('page errors:', errors);
    },
  };
}

/**
 * A fresh browser on the component harness at `url`, once the page says it is ready (body[data-ready]). If the page
 * never gets there the browser is closed again before the error is thrown: a failed setup leaves no browser behind.
 */
export async function openHarness(url: string): Promise<BrowserSession> {
  const session = await launch();
  try {
    await session.page.goto(url);
    await session.page.waitForSelector('body[data-ready]', { state: 'attached' });
    return session;
  } catch (error) {
    await session.close().catch(() => {});
    throw error;
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
