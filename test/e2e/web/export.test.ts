import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { api, newUser } from '../../helpers/clients.js';
import { SKIP_BROWSER, screenshot, signedInPerson, useWebPage } from './support.js';

// Export in the page (issue 20): the sidebar's Export my data button downloads my archive.

describe.skipIf(SKIP_BROWSER)('export in the web page', () => {
  const suite = useWebPage();

  it('Export my data downloads a tar holding my profile and the messages I sent', async () => {
    const { server, browser } = suite;
    const tenantId = randomUUID();
    const me = await newUser(server, { name: 'Esme', tenantId });
    const other = await newUser(server, { name: 'Odo', tenantId });
    const group = await api(server, 'POST', '/api/parley/conversations', { token: me.token, json: { kind: 'group', title: 'Mine', member_ids: [other.user.id] } });
    expect((await api(server, 'POST', `/api/parley/conversations/${group.body.id}/messages`, { token: me.token, json: { content: 'exported words' } })).status).toBe(201);

    const esme = await signedInPerson(browser, server.url, me.token);
    await esme.page.getByTestId('export-button').waitFor();
    await screenshot(esme.page, 'export-button');
    const [download] = await Promise.all([esme.page.waitForEvent('download'), esme.page.getByTestId('export-button').click()]);
    const tar = readFileSync((await download.path())!);
    // A tar holds its files' names and bytes as they are: both are found in it.
    expect(tar.includes('profile.json')).toBe(true);
    expect(tar.includes('exported words')).toBe(true);
    expect(tar.includes(me.user.email)).toBe(true);
    await esme.context.close();
  });
});
