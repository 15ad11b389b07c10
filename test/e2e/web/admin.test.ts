import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, newUser } from '../../helpers/clients.js';
import { SKIP_BROWSER, horizontalOverflow, screenshot, signedInPerson, until, useWebPage } from './support.js';

// The admin section in the page (issue 20): a tenant admin suspends and reactivates a user,
// archives a conversation and sets the retention, on a desktop and at a phone's width; a
// member is not offered the section; a conversation's moderator is offered the report queue.

describe.skipIf(SKIP_BROWSER)('the admin section in the web page', () => {
  const suite = useWebPage();

  it('suspends and reactivates a user, archives a conversation, sets the retention (desktop and 390 px)', async () => {
    const { server, browser } = suite;
    const tenantId = randomUUID();
    const admin = await newUser(server, { name: 'Ada', tenantId });
    const bob = await newUser(server, { name: 'Bob', tenantId });
    const group = await api(server, 'POST', '/api/parley/conversations', { token: bob.token, json: { kind: 'group', member_ids: [admin.user.id], title: 'Launch' } });
    expect(group.status).toBe(201);

    const ada = await signedInPerson(browser, server.url, admin.token);
    const { page } = ada;
    await page.getByTestId('admin-button').click();
    await page.getByTestId('admin-panel').waitFor();
    const bobRow = page.getByTestId(`admin-user-${bob.user.id}`);
    await until(() => bobRow.count()).toBe(1);
    await bobRow.getByRole('button', { name: 'Suspend' }).click();
    await until(() => bobRow.textContent()).toContain('suspended');
    expect((await api(server, 'GET', '/api/parley/me', { token: bob.token })).status).toBe(401);
    await screenshot(page, 'admin-users-desktop');
    await bobRow.getByRole('button', { name: 'Reactivate' }).click();
    await until(() => bobRow.textContent()).toContain('active');

    await page.getByTestId('admin-tab-conversations').click();
    const launch = page.getByTestId('admin-conversations').locator('tr').filter({ hasText: 'Launch' });
    await launch.getByRole('button', { name: 'Archive' }).click();
    await until(() => launch.textContent()).toContain('archived');
    const refused = await api(server, 'POST', `/api/parley/conversations/${group.body.id}/messages`, { token: admin.token, json: { content: 'late' } });
    expect(refused.status).toBe(403);

    await page.getByTestId('admin-tab-settings').click();
    const retention = page.getByTestId('admin-settings').getByLabel('Keep messages (days)');
    await retention.fill('90');
    await retention.press('Tab');
    await until(async () => ((await api(server, 'GET', '/api/parley/admin/settings', { token: admin.token })).body as unknown as { retention_days: number }).retention_days).toBe(90);
    expect(ada.errors).toEqual([]);
    expect(ada.dialogs).toEqual([]);

    const phone = await signedInPerson(browser, server.url, admin.token, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.page.getByTestId('admin-button').click();
    await until(() => phone.page.getByTestId(`admin-user-${bob.user.id}`).count()).toBe(1);
    expect(await horizontalOverflow(phone.page)).toBe(0);
    await screenshot(phone.page, 'admin-users-mobile');
    for (const p of [ada, phone]) await p.context.close();

    // A member: no admin button (the server refuses them every admin call anyway). Not Bob:
    // his suspension ended the token he had.
    const carol = await newUser(server, { name: 'Carol', tenantId });
    const member = await signedInPerson(browser, server.url, carol.token);
    await member.page.locator('[data-administers="false"]').waitFor();
    expect(await member.page.getByTestId('admin-button').count()).toBe(0);

    // A conversation's moderator who is not a tenant admin: no admin section, but the Reports
    // entry (the queue of what they moderate). Carol, a member of the same group, sees neither.
    const dave = await newUser(server, { name: 'Dave', tenantId });
    const erin = await newUser(server, { name: 'Erin', tenantId });
    const ops = await api(server, 'POST', '/api/parley/conversations', { token: erin.token, json: { kind: 'group', member_ids: [dave.user.id, carol.user.id], title: 'Ops' } });
    expect(ops.status).toBe(201);
    const promoted = await api(server, 'PATCH', `/api/parley/conversations/${ops.body.id}/participants/${dave.user.id}`, { token: erin.token, json: { role: 'moderator' } });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    const moderator = await signedInPerson(browser, server.url, dave.token);
    await moderator.page.locator('[data-administers="false"]').waitFor();
    await moderator.page.getByTestId('reports-button').click();
    await moderator.page.getByTestId('reports-dialog').getByTestId('reports').waitFor();
    expect(await moderator.page.getByTestId('admin-button').count()).toBe(0);
    expect(moderator.errors).toEqual([]);
    await moderator.context.close();

    await member.page.reload();
    await member.page.locator('[data-administers="false"]').waitFor();
    await until(() => member.page.getByTestId('conversation-title').count()).toBeGreaterThan(0);
    expect(await member.page.getByTestId('reports-button').count()).toBe(0);
    expect(member.errors).toEqual([]);
    await member.context.close();
  }, 120_000);
});
