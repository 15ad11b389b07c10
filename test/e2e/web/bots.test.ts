import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, newUser } from '../../helpers/clients.js';
import { SKIP_BROWSER, message, signedInPerson, until, useWebPage } from './support.js';

// Bots in the page (issue 19): a message a bot posted through its API key carries a badge
// beside the bot's name; a person's does not.

describe.skipIf(SKIP_BROWSER)('bots in the web page', () => {
  const suite = useWebPage();

  it("a bot's message shows a BOT badge beside its name, a person's none", async () => {
    const { server, browser } = suite;
    const tenantId = randomUUID();
    const owner = await newUser(server, { name: 'Olga', tenantId });
    const person = await newUser(server, { name: 'Ravi', tenantId });
    const key = await api(server, 'POST', '/api/parley/api-keys', { token: owner.token, json: { name: 'Deploy bot', scopes: ['write'] } });
    expect(key.status).toBe(201);
    const group = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'Ops', member_ids: [person.user.id, key.body.bot.id] } });
    expect(group.status).toBe(201);
    const id = group.body.id;
    expect((await api(server, 'POST', `/api/parley/conversations/${id}/messages`, { token: person.token, json: { content: 'deploying?' } })).status).toBe(201);
    expect((await api(server, 'POST', `/api/parley/conversations/${id}/messages`, { token: key.body.secret, json: { content: 'Deployed v1.2.3' } })).status).toBe(201);

    const olga = await signedInPerson(browser, server.url, owner.token);
    await olga.page.getByTestId('conversation-item').filter({ hasText: 'Ops' }).click();
    await until(() => olga.page.getByTestId('conversation-heading').textContent()).toBe('Ops');
    const fromBot = message(olga.page, 'Deployed v1.2.3');
    await fromBot.waitFor();
    expect(await fromBot.locator('.sender').textContent()).toContain('Deploy bot');
    expect(await fromBot.getByTestId('bot-badge').textContent()).toBe('BOT');
    expect(await message(olga.page, 'deploying?').getByTestId('bot-badge').count()).toBe(0);
    await olga.context.close();
  });
});
