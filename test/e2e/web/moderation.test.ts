import { describe, expect, it } from 'vitest';
import { PASSWORD, SKIP_BROWSER, horizontalOverflow, message, messageAction, newPerson, register, screenshot, send, startChat, until, useWebPage, type Person } from './support.js';

// Issue 20 in the web page: a message reported from its menu, the report queue (the admin
// section's Reports tab, reached from the sidebar here) deleting it with a reason, the author
// seeing that reason on the tombstone — on a desktop and at 390 px.

describe.skipIf(SKIP_BROWSER)('the web page: report a message, the report queue', () => {
  const web = useWebPage();
  let ann: Person;
  let ben: Person;

  it('Ann (the tenant admin) reports Ben’s message and deletes it from the queue with a reason Ben sees', async () => {
    // The server's first user is its tenant's admin: Ann registers first.
    ann = await newPerson(web.browser, web.server.url);
    await register(ann, 'Ann', 'ann@example.test');
    ben = await newPerson(web.browser, web.server.url);
    await register(ben, 'Ben', 'ben@example.test');
    await startChat(ben, 'ann@example.test', 'Ann');
    await send(ben.page, 'Cheap pills here');
    await ann.page.getByTestId('conversation-item').filter({ hasText: 'Ben' }).click();
    await until(() => message(ann.page, 'Cheap pills here').count()).toBe(1);

    await messageAction(ann.page, 'Cheap pills here', 'Report');
    const ask = ann.page.getByTestId('reason-dialog');
    await ask.getByLabel('Reason').fill('Spam');
    await screenshot(ann.page, 'moderation-01-report');
    await ask.getByTestId('reason-submit').click();
    await ask.waitFor({ state: 'detached' });

    await ann.page.getByTestId('admin-button').click();
    await ann.page.getByTestId('admin-tab-reports').click();
    const queue = ann.page.getByTestId('admin-panel');
    await until(() => queue.getByTestId('report').allTextContents()).toEqual([expect.stringMatching(/Cheap pills here.*Spam/)]);
    await screenshot(ann.page, 'moderation-02-queue');
    await queue.getByRole('button', { name: 'Delete message' }).click();
    const why = ann.page.getByTestId('reason-dialog');
    await why.getByLabel('Reason').fill('Advertising');
    await why.getByTestId('reason-submit').click();
    await until(() => queue.getByTestId('report').count()).toBe(0);

    await until(() => ben.page.getByTestId('deleted-reason').textContent()).toContain('Advertising');
    await screenshot(ben.page, 'moderation-03-author-sees-reason');

    // Ann closes the queue, blocks Ben from their conversation's header, and unblocks him.
    await queue.getByRole('button', { name: 'Close' }).click();
    await queue.waitFor({ state: 'detached' });
    const block = ann.page.getByTestId('block-button');
    await until(() => block.textContent()).toBe('Block');
    await block.click();
    await until(() => block.textContent()).toBe('Unblock');
    await screenshot(ann.page, 'moderation-04-blocked');
    await block.click();
    await until(() => block.textContent()).toBe('Block');
    for (const p of [ann, ben]) expect(p.errors).toEqual([]);
    for (const p of [ann, ben]) expect(p.dialogs).toEqual([]);
  }, 120_000);

  it('at 390 px: the queue and the reason dialog fit the screen', async () => {
    const phone = await newPerson(web.browser, web.server.url, { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = phone.page;
    await page.getByLabel('Email').fill('ann@example.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await until(() => page.getByTestId('me-name').textContent()).toBe('Ann');
    await page.getByTestId('admin-button').click();
    await page.getByTestId('admin-tab-reports').click();
    await page.getByTestId('admin-panel').waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await screenshot(page, 'moderation-05-phone-queue');
    expect(phone.errors).toEqual([]);
    await phone.context.close();
  }, 60_000);
});
