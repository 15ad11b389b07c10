import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { rmSync } from 'node:fs';
import { startParley, type TestServer } from '../../helpers/parley.js';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const SCREENSHOTS = path.join(ROOT, 'test-output/screenshots');

/** Debian's chromium (CHROMIUM_PATH overrides). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/**
 * Without chromium the browser tests are skipped on a developer's machine, and fail under
 * CI (process.env.CI set), where a missing browser is a broken setup, not a choice.
 */
export const SKIP_BROWSER = !HAVE_CHROMIUM && !process.env.CI;

export function requireChromium(): void {
  if (!HAVE_CHROMIUM) throw new Error(`chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
}

export const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  // A fake microphone that accepts getUserMedia without asking (voice messages).
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/** Builds the page from web/ into a fresh temporary directory (vite's JS API). */
export async function buildPage(): Promise<string> {
  const { build } = await import('vite');
  const outDir = mkdtempSync(path.join(tmpdir(), 'parley-web-'));
  await build({
    configFile: path.join(ROOT, 'web/vite.config.ts'),
    build: { outDir, emptyOutDir: true, sourcemap: false },
    logLevel: 'warn',
  });
  return outDir;
}

/** One person in one browser context, with what their page said that it should not have. */
export interface Person {
  context: BrowserContext;
  page: Page;
  /** alert/confirm/prompt dialogs the page opened (none should). */
  dialogs: string[];
  /** Uncaught exceptions in the page. */
  errors: string[];
}

export async function newPerson(browser: Browser, url: string, opts: BrowserContextOptions = {}): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['microphone'], ...opts });
  const page = await context.newPage();
  const person: Person = { context, page, dialogs: [], errors: [] };
  page.on('dialog', (d) => {
    person.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => person.errors.push(String(e)));
  // What the page's Content-Security-Policy refused (chromium reports it on the console).
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) person.errors.push(`CSP: ${m.text()}`);
  });
  await page.goto(url);
  return person;
}

/** Polls until the value matches (vitest's expect.poll, with a shorter interval). */
export const until = <T>(fn: () => T | Promise<T>, timeout = 10_000) => expect.poll(fn, { timeout, interval: 100 });

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** How many CSS pixels the page is wider than its viewport (0: no horizontal overflow). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate('Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth') as Promise<number>;
}

/** The page's session token (kept in the tab's sessionStorage, never in localStorage). */
export function tokenOf(page: Page): Promise<string> {
  return page.evaluate("sessionStorage.getItem('parley.token')") as Promise<string>;
}

/**
 * For a describe block: the page built, a Parley serving it and chromium, started before its
 * first test and gone after its last. The getters read the running ones.
 */
export function useWebServer(): { server(): TestServer; browser(): Browser } {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let webDir: string | undefined;
  beforeAll(async () => {
    requireChromium();
    webDir = await buildPage();
    server = await startParley({ env: { WEB_DIR: webDir } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });
  return { server: () => server!, browser: () => browser! };
}
