import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { api, newUser } from '../../helpers/clients.js';
import { SKIP_BROWSER, horizontalOverflow, screenshot, signedInPerson, until, useWebPage } from './support.js';

// The channel directory in the page (issue 18): a channel is created public or private; the
// tenant's people browse, search and join the public ones; another tenant sees none of them.

const titles = (page: Page) => page.getByTestId('directory-item').locator('.row-title').allTextContents();

async function openDirectory(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Channels' }).click();
  await page.getByTestId('channel-directory').waitFor();
}

async function createChannel(page: Page, title: string, visibility: 'Public' | 'Private'): Promise<void> {
  await openDirectory(page);
  await page.getByTestId('new-channel-title').fill(title);
  await page.getByTestId('new-channel').getByRole('radio', { name: new RegExp(visibility) }).check();
  await page.getByRole('button', { name: 'Create channel' }).click();
  await until(() => page.getByTestId('conversation-heading').textContent()).toBe(title);
}

describe.skipIf(SKIP_BROWSER)('the channel directory in the web page', () => {
  const suite = useWebPage();

  it('creates public and private channels; others of the tenant find, search and join the public ones (desktop and 390 px)', async () => {
    const { server, browser } = suite;
    const tenantId = randomUUID();
    const [owner, reader] = [await newUser(server, { name: 'Olga', tenantId }), await newUser(server, { name: 'Ravi', tenantId })];
    const stranger = await newUser(server, { name: 'Sam' });

    const olga = await signedInPerson(browser, server.url, owner.token);
    await createChannel(olga.page, 'Design reviews', 'Public');
    await createChannel(olga.page, 'Secret plans', 'Private');
    for (const title of ['Announcements', 'Random']) {
      expect((await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'channel', title, visibility: 'public' } })).status).toBe(201);
    }

    const ravi = await signedInPerson(browser, server.url, reader.token);
    const { page } = ravi;
    await openDirectory(page);
    await until(() => titles(page)).toEqual(['# Announcements', '# Design reviews', '# Random']);
    const design = page.getByTestId('directory-item').filter({ hasText: 'Design reviews' });
    expect(await design.getByTestId('directory-action').textContent()).toBe('Join');
    expect(await design.locator('.row-sub').textContent()).toBe('1 member');
    await screenshot(page, 'directory-desktop');

    await page.getByTestId('directory-search').fill('DESIGN');
    await until(() => titles(page)).toEqual(['# Design reviews']);
    await page.getByTestId('directory-search').fill('secret');
    await until(() => page.getByTestId('directory-empty').count()).toBe(1);
    await page.getByTestId('directory-search').fill('design');
    await until(() => titles(page)).toEqual(['# Design reviews']);
    await design.click();
    // Joined: the channel is open and in the list, and the directory says so.
    await until(() => page.getByTestId('conversation-heading').textContent()).toBe('Design reviews');
    await until(() => page.getByTestId('conversation-item').filter({ hasText: 'Design reviews' }).count()).toBe(1);
    await until(() => olga.page.getByTestId('conversation-item').filter({ hasText: 'Design reviews' }).count()).toBe(1);
    await openDirectory(page);
    const joined = page.getByTestId('directory-item').filter({ hasText: 'Design reviews' });
    await until(() => joined.getByTestId('directory-action').textContent()).toBe('Open');
    expect(await joined.locator('.row-sub').textContent()).toBe('2 members');
    expect(ravi.errors).toEqual([]);

    // Its admin lists the private one (the members dialog): now the others find it.
    await olga.page.getByTestId('conversation-item').filter({ hasText: 'Secret plans' }).click();
    await until(() => olga.page.getByTestId('conversation-heading').textContent()).toBe('Secret plans');
    await olga.page.getByTestId('members-button').click();
    const listed = olga.page.getByTestId('visibility-switch').locator('input');
    expect(await listed.isChecked()).toBe(false);
    await listed.check();
    await until(() => listed.isChecked()).toBe(true);
    await page.keyboard.press('Escape');
    await openDirectory(page);
    await until(() => titles(page)).toEqual(['# Announcements', '# Design reviews', '# Random', '# Secret plans']);

    // Another tenant sees none of them.
    const sam = await signedInPerson(browser, server.url, stranger.token);
    await openDirectory(sam.page);
    await until(() => sam.page.getByTestId('directory-empty').count()).toBe(1);
    expect(await sam.page.getByTestId('directory-item').count()).toBe(0);

    // A phone's width: the same dialog, nothing wider than the screen.
    const phone = await signedInPerson(browser, server.url, reader.token, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await openDirectory(phone.page);
    await until(() => titles(phone.page)).toEqual(['# Announcements', '# Design reviews', '# Random', '# Secret plans']);
    expect(await horizontalOverflow(phone.page)).toBe(0);
    await screenshot(phone.page, 'directory-mobile');
    for (const p of [olga, ravi, sam, phone]) {
      expect(p.dialogs).toEqual([]);
      await p.context.close();
    }
  }, 120_000);
});
