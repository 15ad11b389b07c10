import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/clients.js';
import { SKIP_BROWSER, horizontalOverflow, screenshot, until, useWebPage } from './support.js';

// Message search in the sidebar, in chromium: the matched words marked (as text, never HTML),
// nothing of a conversation I am not in, and a click opens the conversation at the message,
// loading older pages until it is there.

describe.skipIf(SKIP_BROWSER)('the web page: message search', () => {
  const web = useWebPage();
  /** What the pages said that they should not have: uncaught errors, dialogs. */
  const errors: string[] = [];
  const session = async (name: string) => {
    const r = await api(web.server, 'POST', '/api/parley/auth/register', { json: { email: `${name.toLowerCase()}-${Date.now()}@search.test`, password: 'correct horse battery', name } });
    expect(r.status).toBe(201);
    return r.body as { token: string; user: { id: number } };
  };
  const say = async (token: string, conv: number, content: string) =>
    (await api(web.server, 'POST', `/api/parley/conversations/${conv}/messages`, { token, json: { content } })).body as { id: number };
  /** The page, signed in with `token` (the tab's session), at this viewport. */
  const openPage = async (token: string, viewport: { width: number; height: number }): Promise<Page> => {
    const context = await web.browser.newContext({ viewport, ...(viewport.width < 500 ? { hasTouch: true, isMobile: true } : {}) });
    await context.addInitScript(`sessionStorage.setItem('parley.token', ${JSON.stringify(token)})`);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => (errors.push(d.message()), void d.dismiss()));
    await page.goto(web.server.url);
    await page.locator('.app[data-connection=online]').waitFor();
    return page;
  };

  it('finds a message in any script, marks the words, and opens the conversation at it (desktop and 390 px)', async () => {
    const [alice, bob, carol] = [await session('Alice'), await session('Bob'), await session('Carol')];
    const trip = (await api(web.server, 'POST', '/api/parley/conversations', { token: bob.token, json: { kind: 'group', title: 'Trip', member_ids: [alice.user.id] } })).body.id as number;
    const theirs = (await api(web.server, 'POST', '/api/parley/conversations', { token: bob.token, json: { kind: 'group', title: 'Secret', member_ids: [carol.user.id] } })).body.id as number;
    const target = await say(bob.token, trip, '我们明天在北京开会 <img src=x onerror=alert(1)>');
    // Enough after it that it is not on the first page the conversation opens with.
    for (let i = 0; i < 45; i++) await say(bob.token, trip, `later message ${i}`);
    await say(bob.token, theirs, '北京 is not for Alice');

    for (const [label, viewport] of [['desktop', { width: 1280, height: 800 }], ['390px', { width: 390, height: 844 }]] as const) {
      const page = await openPage(alice.token, viewport);
      await page.getByLabel('Search messages').fill('北京');
      const results = page.getByTestId('message-result');
      await until(() => results.count()).toBe(1);
      expect(await results.first().locator('mark').allTextContents()).toEqual(['北京']);
      // The text is shown as text: the markup in it is not an element.
      expect(await results.first().getByTestId('search-snippet').textContent()).toContain('<img src=x onerror=alert(1)>');
      expect(await page.locator('[data-testid=message-results] img').count()).toBe(0);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await screenshot(page, `search-results-${label}`);

      await results.first().click();
      await until(() => page.getByTestId('conversation-heading').textContent()).toBe('Trip');
      const found = page.locator(`#message-${target.id}`);
      await until(() => found.isVisible()).toBe(true);
      await until(() => found.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= (globalThis as unknown as { innerHeight: number }).innerHeight;
      })).toBe(true);
      await screenshot(page, `search-opened-${label}`);
      await page.context().close();
    }
    expect(errors).toEqual([]);
  }, 120_000);
});
