import { rmSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, type TestUser } from '../../helpers/clients.js';
import { startParley, type TestServer } from '../../helpers/parley.js';
import { CHROMIUM, LAUNCH_ARGS, SKIP_BROWSER, buildPage, horizontalOverflow, requireChromium, screenshot, until } from './support.js';

// Issue 18 in Debian's chromium: opening a conversation with 60 unread lands on the first
// unread under "New messages" and reads only what was shown; "Jump to first unread"; "Mark as
// unread" from a message menu (the badge follows on another device); the thread panel
// (reply there, follow/unfollow) and the Threads list. Desktop and 390 px.

/** A page signed in as `who` (the token put where the page keeps it), at `hash`. */
async function signedIn(browser: Browser, url: string, who: TestUser, hash: string, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript(`sessionStorage.setItem('parley.token', ${JSON.stringify(who.token)})`);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${url}/${hash}`);
  await page.locator('.app[data-connection=online]').waitFor();
  return { page, errors };
}

/** Whether the element is inside the message list's visible box. */
const inView = (page: Page, testId: string) =>
  page.evaluate(`(() => {
    const el = document.querySelector('[data-testid=${testId}]');
    const box = document.querySelector('[data-testid=message-list]')?.getBoundingClientRect();
    if (!el || !box) return false;
    const r = el.getBoundingClientRect();
    return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  })()`) as Promise<boolean>;

describe.skipIf(SKIP_BROWSER)('threads and unread in the web page', () => {
  let server: TestServer;
  let browser: Browser;
  let webDir: string;
  let alice: TestUser;
  let bob: TestUser;
  let conv = 0;

  beforeAll(async () => {
    requireChromium();
    webDir = await buildPage();
    server = await startParley({ env: { WEB_DIR: webDir } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    [alice, bob] = await Promise.all([newUser(server, { name: 'Alice' }), newUser(server, { name: 'Bob' })]);
    conv = (await api(server, 'POST', '/api/parley/conversations', { token: alice.token, json: { kind: 'group', title: 'Team', member_ids: [bob.user.id] } })).body.id;
    for (let i = 1; i <= 60; i++) await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: alice.token, json: { content: `m${i}` } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });

  const bobsView = async () => (await api(server, 'GET', `/api/parley/conversations/${conv}`, { token: bob.token })).body;

  it('lands on the first unread under "New messages", reads only what was shown, jumps back to it; mark as unread reaches the other device', async () => {
    const { page, errors } = await signedIn(browser, server.url, bob, `#/c/${conv}`);
    await page.getByTestId('new-messages').waitFor();
    await until(() => inView(page, 'new-messages')).toBe(true);
    // The first unread is on screen, the last is not: only what was shown is read.
    await until(async () => (await bobsView()).my_seen_seq).toBeGreaterThan(0);
    const shown = await bobsView();
    expect(shown.my_seen_seq).toBeLessThan(60);
    expect(shown.unread_count).toBe(60 - shown.my_seen_seq);
    await screenshot(page, 'unread-divider-desktop');

    // To the end: everything shown, everything read; the divider is off screen.
    await page.getByTestId('message-list').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await until(async () => (await bobsView()).unread_count).toBe(0);
    await page.getByTestId('jump-first-unread').click();
    await until(() => inView(page, 'new-messages')).toBe(true);
    await screenshot(page, 'unread-jump-desktop');

    // Mark as unread from m50: the place moves back, on the other device too, and stays.
    const other = await signedIn(browser, server.url, bob, '');
    const m50 = page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText('m50', { exact: true }) });
    await m50.scrollIntoViewIfNeeded();
    await m50.hover();
    await m50.getByTestId('message-actions').click();
    await m50.getByTestId('menu-mark-unread').click();
    await until(async () => (await bobsView()).unread_count).toBe(11);
    const badge = other.page.getByTestId('conversation-item').filter({ has: other.page.getByTestId('unread-badge') }).getByTestId('unread-badge');
    await until(() => badge.textContent()).toBe('11');
    await page.getByTestId('message-list').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await until(() => page.getByTestId('new-messages').count()).toBe(1);
    expect((await bobsView()).unread_count).toBe(11);
    await screenshot(other.page, 'unread-badge-other-device');
    expect([...errors, ...other.errors]).toEqual([]);
  });

  it('thread panel: reply there, follow and unfollow, the Threads list with unread replies (desktop and 390 px)', async () => {
    const root = (await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: alice.token, json: { content: 'Lunch at noon?' } })).body;
    await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: alice.token, json: { content: 'Pizza place', reply_to_id: root.id } });
    const { page, errors } = await signedIn(browser, server.url, bob, `#/c/${conv}`);
    const rootItem = page.getByTestId('message').filter({ hasText: 'Lunch at noon?' });
    await rootItem.getByTestId('thread-link').click();
    const panel = page.getByTestId('thread-panel');
    await until(() => panel.getByTestId('thread-reply').count()).toBe(1);
    // Opening the thread read it.
    await until(async () => (await api(server, 'GET', `/api/parley/messages/${root.id}/thread`, { token: bob.token })).body.unread_count).toBe(0);
    await panel.getByTestId('thread-input').fill('Count me in');
    await panel.getByTestId('thread-input').press('Enter');
    await until(() => panel.getByTestId('thread-reply').count()).toBe(2);
    await until(() => panel.getByTestId('thread-follow').textContent()).toBe('Unfollow');
    await until(() => rootItem.getByTestId('thread-link').textContent()).toBe('2 replies');
    const aliceSees = (await api(server, 'GET', '/api/parley/threads', { token: alice.token })).body;
    expect(aliceSees).toEqual([expect.objectContaining({ root: expect.objectContaining({ id: root.id }), unread_count: 1, following: true })]);
    await screenshot(page, 'thread-panel-desktop');

    // Alice replies: Bob's Threads list shows it unread; choosing it opens the thread.
    await page.getByTestId('thread-close').click();
    await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: alice.token, json: { content: 'Great', reply_to_id: root.id } });
    await page.getByTestId('threads-button').click();
    const item = page.getByTestId('thread-item').filter({ hasText: 'Lunch at noon?' });
    await until(() => item.getByTestId('thread-unread').textContent()).toBe('1');
    await screenshot(page, 'threads-list-desktop');
    await item.click();
    await until(() => page.getByTestId('thread-panel').getByTestId('thread-reply').count()).toBe(3);
    await page.getByTestId('thread-follow').click();
    await until(() => page.getByTestId('thread-follow').textContent()).toBe('Follow');
    expect((await api(server, 'GET', '/api/parley/threads', { token: bob.token })).body).toEqual([]);

    // 390 px: the panel covers the conversation, nothing overflows.
    const phone = await signedIn(browser, server.url, bob, `#/c/${conv}`, { width: 390, height: 844 });
    await phone.page.getByTestId('message').filter({ hasText: 'Lunch at noon?' }).getByTestId('thread-link').click();
    await until(() => phone.page.getByTestId('thread-reply').count()).toBe(3);
    expect(await horizontalOverflow(phone.page)).toBe(0);
    await screenshot(phone.page, 'thread-panel-390');
    await phone.page.getByTestId('thread-close').click();
    await screenshot(phone.page, 'unread-conversation-390');
    expect([...errors, ...phone.errors]).toEqual([]);
  });
});
