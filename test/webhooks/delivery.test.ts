import { describe, expect, it } from 'vitest';
import { api, eventually } from '../helpers/clients.js';
import { startParley, useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { allEvents, newGroup, newTenant, register, send, WEBHOOK_TEST_ENV } from './support.js';

// Issue 19: endpoints receive the log's events signed (Standard Webhooks), in order per
// conversation, retried with backoff while the receiver fails, disabled after persistent
// failure and resumed where they stopped when an admin enables them again.

/** Each conversation's events arrive in cursor order (first arrivals; a retry repeats an id). */
function expectOrderPerConversation(receiver: WebhookReceiver) {
  const last = new Map<number, number>();
  for (const r of receiver.distinct()) {
    expect(r.cursor, `conversation ${r.conversationId}`).toBeGreaterThan(last.get(r.conversationId) ?? 0);
    last.set(r.conversationId, r.cursor);
  }
}

describe.each(databases)('webhook delivery on %s', (db) => {
  const server = useParley({ db, env: WEBHOOK_TEST_ENV });

  it('delivers every event signed, with the events API ids, in order per conversation, through the filters', async (t) => {
    const receiver = await new WebhookReceiver().start();
    const filtered = await new WebhookReceiver().start();
    const bot = await new WebhookReceiver().start();
    t.onTestFinished(async () => void (await Promise.all([receiver.stop(), filtered.stop(), bot.stop()])));
    const { admin, member } = await newTenant(server);
    const c1 = await newGroup(server, admin, [member], 'One');
    const c2 = await newGroup(server, admin, [member], 'Two');
    const from = (await allEvents(server, admin, 0, 500)).at(-1).cursor;
    const created = await register(server, admin, { url: receiver.url });
    expect(created.secret).toMatch(/^whsec_/);
    receiver.secret = created.secret;
    filtered.secret = (await register(server, admin, { url: filtered.url, event_types: ['message.created'], conversation_id: c2 })).secret;
    bot.secret = (await register(server, admin, { url: bot.url, mention_user_id: member.user.id })).secret;
    // The secret is shown once.
    expect((await api(server, 'GET', `/api/parley/webhooks/${created.id}`, { token: admin.token })).body).not.toHaveProperty('secret');

    for (let i = 0; i < 6; i++) await send(server, i % 2 ? member : admin, i % 3 ? c1 : c2, `m${i}`);
    await send(server, admin, c1, `hey @${member.user.name}`);
    const direct = await api(server, 'POST', '/api/parley/conversations', { token: admin.token, json: { kind: 'direct', user_id: member.user.id } });
    await send(server, admin, direct.body.id, 'just us');
    const events = await allEvents(server, admin, from, 500);
    await eventually(() => expect(receiver.distinct().length).toBe(events.length), { timeoutMs: 20_000 });
    expect(receiver.distinct().map((r) => r.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(receiver.badSignatures).toBe(0);
    expectOrderPerConversation(receiver);
    const wanted = events.filter((e) => e.type === 'message.created' && e.conversation_id === c2);
    await eventually(() => expect(filtered.distinct().map((r) => r.id)).toEqual(wanted.map((e) => e.id)), { timeoutMs: 20_000 });
    const forBot = events.filter((e) => e.type === 'message.created' && (e.conversation_id === direct.body.id || String(e.data.message.content).includes('@')));
    expect(forBot).toHaveLength(2);
    await eventually(() => expect(bot.distinct().map((r) => r.id).sort()).toEqual(forBot.map((e) => e.id).sort()), { timeoutMs: 20_000 });
    // The receiver answers before the dispatcher settles the delivery.
    await eventually(async () => {
      const status = (await api(server, 'GET', '/api/parley/webhooks', { token: admin.token })).body;
      expect(status.find((w) => w.id === created.id)).toMatchObject({ enabled: true, pending: 0, failing_since: null, last_success_at: expect.any(String) });
    });
  });

  it('retries a failing receiver in order, and reports the failure while it lasts', async (t) => {
    const receiver = await new WebhookReceiver().start();
    t.onTestFinished(() => receiver.stop());
    const { admin, member } = await newTenant(server);
    const c = await newGroup(server, admin, [member]);
    const hook = await register(server, admin, { url: receiver.url, event_types: ['message.created'] });
    receiver.secret = hook.secret;
    receiver.failing = true;
    for (let i = 0; i < 5; i++) await send(server, member, c, `m${i}`);
    await eventually(async () => {
      const w = (await api(server, 'GET', `/api/parley/webhooks/${hook.id}`, { token: admin.token })).body;
      expect(w).toMatchObject({ failing_since: expect.any(String), last_error: 'HTTP 500', pending: 5 });
    });
    receiver.failing = false;
    await eventually(() => expect(receiver.distinct().map((r) => r.data.message.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']), { timeoutMs: 20_000 });
    await eventually(async () => expect((await api(server, 'GET', `/api/parley/webhooks/${hook.id}`, { token: admin.token })).body).toMatchObject({ failing_since: null, pending: 0 }));
  });

  it('refuses what is not an http(s) URL and unknown event types', async () => {
    const { admin } = await newTenant(server);
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'not a url', 'http://user:pw@example.com/']) {
      const r = await api(server, 'POST', '/api/parley/webhooks', { token: admin.token, json: { url } });
      expect([r.status, r.body.code]).toEqual([400, 'invalid_input']);
    }
    const r = await api(server, 'POST', '/api/parley/webhooks', { token: admin.token, json: { url: 'https://example.com/', event_types: ['message.exploded'] } });
    expect([r.status, r.body.detail]).toEqual([400, 'Unknown event type message.exploded']);
    expect((await api(server, 'DELETE', '/api/parley/webhooks/we_nothing', { token: admin.token })).status).toBe(404);
  });

  it('disables an endpoint failing past WEBHOOK_DISABLE_AFTER_MS; enabled again, it resumes where it stopped', async (t) => {
    const s = await startParley(t, { db, env: { ...WEBHOOK_TEST_ENV, WEBHOOK_DISABLE_AFTER_MS: '400' } });
    const receiver = await new WebhookReceiver().start();
    t.onTestFinished(() => receiver.stop());
    const { admin, member } = await newTenant(s);
    const c = await newGroup(s, admin, [member]);
    const hook = await register(s, admin, { url: receiver.url, event_types: ['message.created'] });
    receiver.secret = hook.secret;
    await receiver.stop();
    await send(s, member, c, 'a');
    await send(s, member, c, 'b');
    await eventually(async () => expect((await api(s, 'GET', `/api/parley/webhooks/${hook.id}`, { token: admin.token })).body).toMatchObject({ enabled: false, disabled_reason: 'failing' }), { timeoutMs: 20_000 });
    // Events logged while it is disabled are delivered too once it is enabled.
    await send(s, member, c, 'c');
    await receiver.start();
    const enabled = await api(s, 'PATCH', `/api/parley/webhooks/${hook.id}`, { token: admin.token, json: { enabled: true } });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null });
    await eventually(() => expect(receiver.distinct().map((r) => r.data.message.content)).toEqual(['a', 'b', 'c']), { timeoutMs: 20_000 });
  });

  it('refuses loopback and private addresses unless WEBHOOK_ALLOW_PRIVATE=true', async (t) => {
    const s = await startParley(t, { db });
    const { admin } = await newTenant(s);
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://10.1.2.3/x', 'http://[::1]/x', 'http://192.168.1.1/', 'http://169.254.169.254/latest']) {
      const r = await api(s, 'POST', '/api/parley/webhooks', { token: admin.token, json: { url } });
      expect([url, r.status, r.body.detail]).toEqual([url, 400, 'url must not point to a private or loopback address']);
    }
  });
});
