import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ParleyClient, ParleyError } from '@parley/sdk';
import { useParley } from '../helpers/parley.js';
import { eventually } from '../helpers/clients.js';
import { record, sdkClient } from './support.js';

// The SDK's server mode (issue 19): `new ParleyClient({ baseUrl, apiKey })` acts as the key's bot.

describe('SDK: server mode with an API key', () => {
  const server = useParley({ env: { REGISTRATION: 'open' } });

  it('an admin makes a key through the SDK; a client built with it acts as the bot, within its scopes, until the key is revoked', async () => {
    const ref = { url: server.url };
    const admin = sdkClient(ref);
    await admin.register({ email: `admin-${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Admin', tenantId: randomUUID() });
    const issued = await admin.createApiKey({ name: 'Release bot', scopes: ['write'] });
    expect(issued.secret).toMatch(/^pk_/);

    const bot = new ParleyClient({ baseUrl: server.url, apiKey: issued.secret });
    const me = await bot.me();
    expect(me).toMatchObject({ id: issued.bot.id, name: 'Release bot', is_bot: true });

    const group = await admin.createGroup('Releases', [issued.bot.id]);
    const sent = await bot.rest.sendMessage(group.id, { content: 'v2.0 is out', metadata: { release: { tag: 'v2.0', build: 42 } } });
    expect(sent.sender).toMatchObject({ id: issued.bot.id, is_bot: true });
    expect(sent.metadata).toEqual({ release: { tag: 'v2.0', build: 42 } });
    expect((await bot.rest.editMessage(sent.id, 'v2.0 is out!', null)).metadata).toBeNull();
    // An incoming webhook made through the SDK posts into the same conversation.
    const hook = await admin.rest.createIncomingWebhook(group.id, 'CI');
    const posted = await fetch(server.url + hook.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'nightly green' }) });
    expect(posted.status).toBe(201);
    expect((await admin.rest.listIncomingWebhooks(group.id)).map((h) => h.id)).toEqual([hook.id]);
    await admin.rest.revokeIncomingWebhook(group.id, hook.id);
    const reacted = await bot.rest.react(sent.id, '🎉');
    expect(reacted.reactions).toEqual([{ emoji: '🎉', user_ids: [issued.bot.id], count: 1 }]);

    // A write key is no tenant admin.
    const refused = await bot.listApiKeys().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ParleyError);
    expect((refused as ParleyError).status).toBe(403);

    const listed = await admin.listApiKeys();
    expect(listed.map((k) => k.id)).toEqual([issued.id]);
    expect(listed[0]).not.toHaveProperty('secret');
    await admin.revokeApiKey(issued.id);
    const gone = await bot.me().catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ParleyError);
    expect(gone).toMatchObject({ status: 401, code: 'not_authenticated' });
  });
  it("a client built with a key connects the socket as the key's bot: it receives its conversations' messages live and sends over the socket", async () => {
    const ref = { url: server.url };
    const admin = sdkClient(ref);
    await admin.register({ email: `admin-${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Admin', tenantId: randomUUID() });
    const issued = await admin.createApiKey({ name: 'Echo bot', scopes: ['write'] });
    const group = await admin.createGroup('Echoes', [issued.bot.id]);

    const bot = sdkClient(ref, { apiKey: issued.secret });
    const heard = record(bot);
    await bot.connect();
    await admin.rest.sendMessage(group.id, { content: 'ping' });
    await eventually(() => expect((heard.events.message ?? []).map((f) => f.message.content)).toContain('ping'));
    const echoed = await bot.send(group.id, { content: 'pong' }).promise;
    expect(echoed.sender).toMatchObject({ id: issued.bot.id, is_bot: true });
    expect((await admin.rest.history(group.id)).messages.map((m) => m.content)).toEqual(['ping', 'pong']);
    bot.disconnect();
  });
});
