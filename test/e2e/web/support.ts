import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { chromium } from 'playwright-core';
import { startParley, type TestServer } from '../../helpers/parley.js';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';

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

/**
 * The built page served by a Parley, and a chromium, for the describe block it is called in:
 * started before its first test, closed after its last.
 */
export function useWebPage(): { readonly server: TestServer; readonly browser: Browser } {
  const web = {} as { server: TestServer; browser: Browser };
  let webDir: string | undefined;
  beforeAll(async () => {
    requireChromium();
    webDir = await buildPage();
    web.server = await startParley({ env: { WEB_DIR: webDir } });
    web.browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  }, 120_000);
  afterAll(async () => {
    await web.browser?.close();
    await web.server?.close();
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });
  return web;
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

export async function newPerson(browser: Browser, url: string, opts: BrowserContextOptions = {}, initScript?: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['microphone'], ...opts });
  if (initScript) await context.addInitScript(initScript);
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

/**
 * A person whose page is signed in already with `token` (kept in the tab's sessionStorage, as
 * the page keeps it), set before any of the page's script runs, as is `window.__pwned`: the
 * hook an injected script would set.
 */
export function signedInPerson(browser: Browser, url: string, token: string, opts: BrowserContextOptions = {}): Promise<Person> {
  return newPerson(browser, url, opts, `window.__pwned = undefined; sessionStorage.setItem('parley.token', ${JSON.stringify(token)});`);
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

/** The password every person of the browser tests registers with. */
export const PASSWORD = 'correct-horse-battery';

export async function register(p: Person, name: string, email: string): Promise<void> {
  const { page } = p;
  await page.getByRole('group', { name: 'Account' }).getByRole('button', { name: 'Create account' }).click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await until(() => page.getByTestId('me-name').textContent()).toBe(name);
  // Live: the socket follows this person's conversations (new ones included).
  await page.locator('.app[data-connection=online]').waitFor();
}

/** Opens (or starts) the direct chat with someone found by email. */
export async function startChat(p: Person, email: string, name: string): Promise<void> {
  await p.page.getByLabel('Search people by email').fill(email);
  await p.page.getByTestId('person-result').filter({ hasText: name }).click();
  await until(() => p.page.getByTestId('conversation-heading').textContent()).toBe(name);
}

export function message(page: Page, text: string): Locator {
  return page.getByTestId('message').filter({ hasText: text });
}

export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByTestId('composer-input');
  await box.fill(text);
  await box.press('Enter');
}

export async function messageAction(page: Page, text: string, action: string | RegExp): Promise<void> {
  const m = message(page, text).last();
  await m.hover();
  await m.getByTestId('message-actions').click();
  await m.getByRole('menuitem', { name: action }).click();
}
