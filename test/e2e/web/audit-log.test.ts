import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, newUser } from '../../helpers/clients.js';
import { SKIP_BROWSER, screenshot, signedInPerson, until, useWebPage } from './support.js';

// The audit log in the page (issue 20): a tenant admin opens the admin section and reads the
// tenant's administrative actions in a table, filters it by action, and pages back; a member
// is not offered the admin section.

describe.skipIf(SKIP_BROWSER)('the audit log in the web page', () => {
  const suite = useWebPage();

  it('an admin sees the actions newest first, filters them, and pages to older ones; a member is not offered it', async () => {
    const { server, browser } = suite;
    const tenantId = randomUUID();
    const admin = await newUser(server, { name: 'Olga', tenantId });
    const member = await newUser(server, { name: 'Ravi', tenantId });
    const key = await api(server, 'POST', '/api/parley/api-keys', { token: admin.token, json: { name: 'Deploy bot', scopes: ['write'] } });
    expect(key.status).toBe(201);
    // More than one page (50) of invites, one of them revoked.
    const invites = [];
    for (let i = 0; i < 52; i++) invites.push((await api(server, 'POST', '/api/parley/invites', { token: admin.token, json: {} })).body.id);
    expect((await api(server, 'DELETE', `/api/parley/invites/${invites[0]}`, { token: admin.token })).status).toBe(204);

    const olga = await signedInPerson(browser, server.url, admin.token);
    await olga.page.getByTestId('admin-button').click();
    await olga.page.getByTestId('admin-tab-audit').click();
    const rows = olga.page.getByTestId('audit-row');
    await until(() => rows.count()).toBe(50);
    expect(await rows.first().getAttribute('data-action')).toBe('invite.revoke');
    await screenshot(olga.page, '20-audit-log');
    await olga.page.getByTestId('audit-more').click();
    await until(() => rows.count()).toBe(55);
    expect(await rows.last().getAttribute('data-action')).toBe('bot.create');

    await olga.page.getByTestId('audit-filter-action').fill('api_key.create');
    await olga.page.getByTestId('audit-apply').click();
    await until(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('Deploy bot');
    expect(olga.errors).toEqual([]);
    await olga.context.close();

    // A member is not offered the admin section; the log's route refuses him.
    const ravi = await signedInPerson(browser, server.url, member.token);
    await ravi.page.locator('[data-administers="false"]').waitFor();
    expect(await ravi.page.getByTestId('admin-button').count()).toBe(0);
    expect((await api(server, 'GET', '/api/parley/admin/audit', { token: member.token })).status).toBe(403);
    await ravi.context.close();
  });
});
