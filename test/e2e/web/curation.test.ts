import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  SKIP_BROWSER,
  horizontalOverflow,
  message,
  messageAction,
  newPerson,
  register,
  screenshot,
  send,
  startChat,
  until,
  useWebPage,
  type Person,
} from './support.js';

// Issue 18 in the chat page: "edited" opens the revisions, pin and the pinned list, save and
// the Saved view, delete for me (gone for me only) — on a desktop and at 390 px.

async function edit(page: Page, from: string, to: string): Promise<void> {
  await messageAction(page, from, 'Edit');
  const box = page.getByTestId('composer-input');
  await until(() => box.inputValue()).toContain(from);
  await box.fill(to);
  await box.press('Enter');
  await until(() => message(page, to).getByTestId('edited-mark').count()).toBe(1);
}

async function close(dialog: Locator): Promise<void> {
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
}

describe.skipIf(SKIP_BROWSER)('the web page: edit history, pins, saved, delete for me', () => {
  const web = useWebPage();
  let ann: Person;
  let ben: Person;

  it('edited → the revisions; pin and the pinned list; save and the Saved view; delete for me', async () => {
    ann = await newPerson(web.browser, web.server.url);
    await register(ann, 'Ann', 'ann@example.test');
    ben = await newPerson(web.browser, web.server.url);
    await register(ben, 'Ben', 'ben@example.test');
    await startChat(ann, 'ben@example.test', 'Ben');
    await send(ann.page, 'Lunch at noon');
    await until(() => message(ann.page, 'Lunch at noon').getAttribute('data-pending')).toBeNull();
    await edit(ann.page, 'Lunch at noon', 'Lunch at one');
    await edit(ann.page, 'Lunch at one', 'Lunch at two, sorry');

    // Ben opens the chat and the history behind "edited".
    await ben.page.getByTestId('conversation-item').filter({ hasText: 'Ann' }).click();
    const edited = message(ben.page, 'Lunch at two, sorry').getByTestId('edited-mark');
    await until(() => edited.count()).toBe(1);
    await edited.click();
    const revisions = ben.page.getByTestId('revisions-dialog');
    await until(() => revisions.getByTestId('revision').allTextContents()).toEqual([expect.stringContaining('Lunch at noon'), expect.stringContaining('Lunch at one')]);
    expect(await revisions.getByTestId('revision-current').textContent()).toContain('Lunch at two, sorry');
    await screenshot(ben.page, 'curation-01-revisions');
    await close(revisions);

    // Ben pins it; Ann's pinned list has it, and loses it live when Ben unpins.
    await messageAction(ben.page, 'Lunch at two, sorry', 'Pin');
    await ann.page.getByTestId('pins-button').click();
    const pins = ann.page.getByTestId('pins-dialog');
    await until(() => pins.getByTestId('pin').allTextContents()).toEqual([expect.stringMatching(/Lunch at two, sorry.*Pinned by Ben/)]);
    await screenshot(ann.page, 'curation-02-pins');
    await ben.page.getByTestId('pins-button').click();
    await ben.page.getByTestId('pins-dialog').getByTestId('unpin').click();
    await until(() => pins.getByTestId('no-pins').count()).toBe(1);
    await close(pins);
    await close(ben.page.getByTestId('pins-dialog'));

    // Ben saves two messages; the Saved view lists them newest first and opens the chat.
    await send(ann.page, 'The address is 5 Main St');
    await until(() => message(ben.page, 'The address is 5 Main St').count()).toBe(1);
    await messageAction(ben.page, 'Lunch at two, sorry', 'Save');
    await messageAction(ben.page, 'The address is 5 Main St', 'Save');
    await ben.page.getByTestId('saved-button').click();
    const saved = ben.page.getByTestId('saved-dialog');
    await until(() => saved.getByTestId('saved-item').allTextContents()).toEqual([expect.stringContaining('The address is 5 Main St'), expect.stringContaining('Lunch at two, sorry')]);
    await screenshot(ben.page, 'curation-03-saved');
    await saved.getByTestId('unsave').first().click();
    await until(() => saved.getByTestId('saved-item').count()).toBe(1);
    await saved.getByTestId('saved-item').getByRole('button', { name: /Lunch at two/ }).click();
    await saved.waitFor({ state: 'detached' });

    // Delete for me: gone from Ben's page (and after a reload), still on Ann's.
    await send(ann.page, 'Only Ann keeps this');
    await until(() => message(ben.page, 'Only Ann keeps this').count()).toBe(1);
    await messageAction(ben.page, 'Only Ann keeps this', 'Delete for me');
    await until(() => message(ben.page, 'Only Ann keeps this').count()).toBe(0);
    expect(await message(ann.page, 'Only Ann keeps this').count()).toBe(1);
    await ben.page.reload();
    await ben.page.getByTestId('conversation-item').filter({ hasText: 'Ann' }).click();
    await message(ben.page, 'The address is 5 Main St').waitFor();
    expect(await message(ben.page, 'Only Ann keeps this').count()).toBe(0);
    expect(await ben.page.getByTestId('conversation-item').filter({ hasText: 'Ann' }).getByTestId('conversation-preview').textContent()).toContain('The address is 5 Main St');
    await screenshot(ben.page, 'curation-04-deleted-for-me');
    for (const p of [ann, ben]) expect(p.errors).toEqual([]);
    for (const p of [ann, ben]) expect(p.dialogs).toEqual([]);
  }, 120_000);

  it('at 390 px: the revisions, the pinned list and the Saved view fit the screen', async () => {
    const phone = await newPerson(web.browser, web.server.url, { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = phone.page;
    await page.getByLabel('Email').fill('ben@example.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await until(() => page.getByTestId('me-name').textContent()).toBe('Ben');
    await page.getByTestId('saved-button').click();
    await page.getByTestId('saved-dialog').getByTestId('saved-item').waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await screenshot(page, 'curation-05-phone-saved');
    await close(page.getByTestId('saved-dialog'));
    await page.getByTestId('conversation-item').filter({ hasText: 'Ann' }).click();
    await message(page, 'Lunch at two, sorry').getByTestId('edited-mark').click();
    await page.getByTestId('revisions-dialog').getByTestId('revision').first().waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await screenshot(page, 'curation-06-phone-revisions');
    await close(page.getByTestId('revisions-dialog'));
    await page.getByTestId('pins-button').click();
    await page.getByTestId('pins-dialog').waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await screenshot(page, 'curation-07-phone-pins');
    expect(phone.errors).toEqual([]);
    await phone.context.close();
  }, 60_000);
});
