import { describe, expect, it } from 'vitest';
import type { Conversation, Id, Tenant, User } from '../../src/core/model.js';
import type { Store } from '../../src/backends/store/store.js';
import type { SearchFixtures } from './search.contract.js';

/** What the outbox contracts need of the store contract's fixtures. */
export type OutboxFixtures = Omit<SearchFixtures, 'conversation'> & {
  conversation(tenant: Tenant, kind: 'group', members: User[], at?: number): Promise<Conversation>;
};

const HOUR = 3_600_000;

/**
 * The WebhookStore and NotificationStore rules (src/backends/store/store.ts), on each store.
 * Dispatch reads (fan-out, claims) are the whole database's: each test settles what it made.
 */
export function outboxContract(get: () => Store, f: OutboxFixtures, T0: number): void {
  async function endpoint(t: Tenant, by: User, over: Partial<Parameters<Store['createWebhookEndpoint']>[0]> = {}) {
    return get().createWebhookEndpoint({ tenantId: t.id, url: 'https://example.com/hook', secret: 'whsec_x', eventTypes: [], conversationId: null, mentionUserId: null, description: null, createdBy: by.id, ...over }, T0);
  }
  /** Claims until nothing is due, delivering each: what each endpoint got, in order. */
  async function drain(at: number): Promise<Map<Id, string[]>> {
    const got = new Map<Id, string[]>();
    for (;;) {
      const claimed = await get().claimWebhookDeliveries(100, at, at + HOUR);
      if (claimed.length === 0) return got;
      for (const d of claimed) {
        got.set(d.endpoint.id, [...(got.get(d.endpoint.id) ?? []), d.event.uuid]);
        await get().webhookDelivered(d.id, at);
      }
    }
  }

  describe('the events log and webhooks (issue 19)', () => {
    it('eventsAfter: a tenant’s own events in seq order, paged by seq, the same seq and uuid on every read', async () => {
      const t = await f.tenant();
      const other = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      const sent = [await f.send(c, a), await f.send(c, b)];
      const log = await get().eventsAfter(t.id, 0, 100);
      expect(log.map((e) => e.type)).toEqual(['conversation.created', 'message.created', 'message.created']);
      expect(log.map((e) => ('message' in e.payload ? e.payload.message.id : c.id))).toEqual([c.id, sent[0].id, sent[1].id]);
      expect(log.map((e) => e.seq)).toEqual([...log.map((e) => e.seq)].sort((x, y) => x - y));
      for (const e of log) expect(e).toMatchObject({ tenantId: t.id, conversationId: c.id, uuid: expect.stringMatching(/^evt_/) });
      expect(await get().eventsAfter(t.id, log[0].seq, 1)).toEqual([log[1]]);
      expect(await get().eventsAfter(t.id, log[2].seq, 100)).toEqual([]);
      expect(await get().eventsAfter(other.id, 0, 100)).toEqual([]);
    });

    it('endpoints: a tenant’s own, starting at the log’s end, disabled and enabled, deleted with their deliveries', async () => {
      const t = await f.tenant();
      const other = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      await f.send(c, a);
      const e = await endpoint(t, a, { description: 'd' });
      expect(e).toMatchObject({ tenantId: t.id, uuid: expect.stringMatching(/^we_/), disabledReason: null, pending: 0, description: 'd' });
      expect(await get().webhookEndpoints(other.id)).toEqual([]);
      expect(await get().webhookEndpoint(other.id, e.uuid)).toBeUndefined();
      // Only what happens after its creation.
      await get().fanOutWebhooks(500, T0);
      expect((await get().webhookEndpoint(t.id, e.uuid))!.pending).toBe(0);
      const later = await f.send(c, b);
      await get().fanOutWebhooks(500, T0);
      expect((await get().webhookEndpoint(t.id, e.uuid))!.pending).toBe(1);
      expect(await get().updateWebhookEndpoint(t.id, e.uuid, { enabled: false }, T0 + 1)).toMatchObject({ disabledReason: 'admin', disabledAt: T0 + 1 });
      expect(await get().claimWebhookDeliveries(100, T0 + 2, T0 + HOUR)).toEqual([]);
      expect(await get().updateWebhookEndpoint(other.id, e.uuid, { enabled: true }, T0 + 3)).toBeUndefined();
      expect(await get().updateWebhookEndpoint(t.id, e.uuid, { enabled: true, url: 'https://example.com/2' }, T0 + 3)).toMatchObject({ disabledReason: null, url: 'https://example.com/2' });
      const [claimed] = await get().claimWebhookDeliveries(100, T0 + 4, T0 + HOUR);
      expect(claimed).toMatchObject({ attempts: 1, endpoint: { id: e.id, url: 'https://example.com/2' }, event: { payload: { message: { id: later.id } } } });
      expect(await get().deleteWebhookEndpoint(other.id, e.uuid, T0)).toBe(false);
      expect(await get().deleteWebhookEndpoint(t.id, e.uuid, T0)).toBe(true);
      expect(await get().deleteWebhookEndpoint(t.id, e.uuid, T0)).toBe(false);
      expect(await get().webhookEndpoints(t.id)).toEqual([]);
      expect(await get().claimWebhookDeliveries(100, T0 + HOUR * 2, T0 + HOUR * 3)).toEqual([]);
    });

    it('fan-out and claims: filters taken; a conversation’s next event waits for the one before; leases; retries; disabled when failing long', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const [c1, c2] = [await f.conversation(t, 'group', [a, b]), await f.conversation(t, 'group', [a, b])];
      const all = await endpoint(t, a);
      const only = await endpoint(t, a, { eventTypes: ['message.created'], conversationId: c2.id });
      const m = [await f.send(c1, a), await f.send(c1, b), await f.send(c2, a)];
      await get().fanOutWebhooks(500, T0);
      expect((await get().webhookEndpoint(t.id, all.uuid))!.pending).toBe(3);
      expect((await get().webhookEndpoint(t.id, only.uuid))!.pending).toBe(1);
      const first = await get().claimWebhookDeliveries(100, T0, T0 + 1000);
      // c1's second message waits for its first; each conversation's head is leased.
      expect(first.map((d) => [d.endpoint.id, 'message' in d.event.payload && d.event.payload.message.id]).sort()).toEqual(
        [[all.id, m[0].id], [all.id, m[2].id], [only.id, m[2].id]].sort(),
      );
      // Leased: nobody else takes them until the lease ends.
      expect(await get().claimWebhookDeliveries(100, T0 + 999, T0 + 2000)).toEqual([]);
      const head = first.find((d) => d.endpoint.id === all.id && d.event.conversationId === c1.id)!;
      await get().webhookFailed(head.id, 'HTTP 500', T0 + 10, T0 + 5000, T0 + 10 - HOUR);
      expect(await get().webhookEndpoint(t.id, all.uuid)).toMatchObject({ failingSince: T0 + 10, lastError: 'HTTP 500', disabledReason: null });
      // Expired leases come back, with one attempt more; the failed one only at its retry time.
      const again = await get().claimWebhookDeliveries(100, T0 + 1001, T0 + 3000);
      expect(again.map((d) => d.id).sort()).toEqual(first.filter((d) => d !== head).map((d) => d.id).sort());
      expect(again.every((d) => d.attempts === 2)).toBe(true);
      for (const d of again) await get().webhookDelivered(d.id, T0 + 1002);
      expect(await get().claimWebhookDeliveries(100, T0 + 4000, T0 + 9000)).toEqual([]);
      const retry = await get().claimWebhookDeliveries(100, T0 + 5000, T0 + 9000);
      expect(retry).toMatchObject([{ id: head.id, attempts: 2 }]);
      // The other deliveries' success ended the streak: this failure starts a new one, kept.
      await get().webhookFailed(head.id, 'timeout', T0 + HOUR, T0 + HOUR + 1, T0 + HOUR - 1);
      expect(await get().webhookEndpoint(t.id, all.uuid)).toMatchObject({ failingSince: T0 + HOUR, disabledReason: null });
      expect(await get().claimWebhookDeliveries(100, T0 + HOUR + 1, T0 + HOUR + 2)).toMatchObject([{ id: head.id, attempts: 3 }]);
      // Failing since the threshold: disabled, its deliveries kept.
      await get().webhookFailed(head.id, 'timeout', T0 + 2 * HOUR, T0 + 2 * HOUR + 1, T0 + HOUR);
      expect(await get().webhookEndpoint(t.id, all.uuid)).toMatchObject({ disabledReason: 'failing', disabledAt: T0 + 2 * HOUR, pending: 2 });
      expect(await get().claimWebhookDeliveries(100, T0 + 3 * HOUR, T0 + 4 * HOUR)).toEqual([]);
      await get().updateWebhookEndpoint(t.id, all.uuid, { enabled: true }, T0 + 3 * HOUR);
      const got = await drain(T0 + 3 * HOUR);
      expect(got.get(all.id)!.length).toBe(2);
      expect(await get().webhookEndpoint(t.id, all.uuid)).toMatchObject({ failingSince: null, lastSuccessAt: T0 + 3 * HOUR, pending: 0 });
      await get().deleteWebhookEndpoint(t.id, all.uuid, T0);
      await get().deleteWebhookEndpoint(t.id, only.uuid, T0);
    });

    it('prune: delivered deliveries and events older than the cut go; what is waiting or not fanned out stays', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b], T0 - 10 * HOUR);
      const live = await endpoint(t, a);
      const old = [await f.send(c, a, { createdAt: T0 - 10 * HOUR }), await f.send(c, b, { createdAt: T0 - 10 * HOUR })];
      await get().fanOutWebhooks(500, T0);
      const [d0] = await get().claimWebhookDeliveries(100, T0, T0 + 1);
      await get().webhookDelivered(d0.id, T0 - 5 * HOUR);
      const paused = await endpoint(t, a);
      await get().updateWebhookEndpoint(t.id, paused.uuid, { enabled: false }, T0);
      const unseen = await f.send(c, a, { createdAt: T0 - 9 * HOUR });
      await get().fanOutWebhooks(500, T0);
      const seqs = async () => (await get().eventsAfter(t.id, 0, 100)).map((e) => ('message' in e.payload ? e.payload.message.id : 0));
      expect(await seqs()).toEqual([0, old[0].id, old[1].id, unseen.id]);
      // In batches of one, until nothing is left to prune.
      while ((await get().pruneWebhookEvents(T0 - HOUR, 1)) > 0);
      // The conversation's event and old[0] went (delivered); old[1] waits for its delivery; the paused endpoint has not seen `unseen`.
      expect(await seqs()).toEqual([old[1].id, unseen.id]);
      expect((await get().webhookEndpoint(t.id, live.uuid))!.pending).toBe(2);
      await get().deleteWebhookEndpoint(t.id, paused.uuid, T0);
      await drain(T0);
      // Delivered now: the events go (they are old), not their deliveries (they are not).
      expect(await get().pruneWebhookEvents(T0 - HOUR, 100)).toBe(2);
      expect(await seqs()).toEqual([]);
      await get().deleteWebhookEndpoint(t.id, live.uuid, T0);
    });
  });

  describe('notifications (issue 19)', () => {
    it('settings: none until set, per conversation or for all (0)', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await f.conversation(t, 'group', [a, b]);
      expect(await get().notificationSetting(a.id, c.id)).toEqual({ level: null, muteUntil: 0 });
      await get().setNotificationSetting(a.id, c.id, { level: 'all', muteUntil: 0 });
      await get().setNotificationSetting(a.id, 0, { level: 'none', muteUntil: 5 });
      await get().setNotificationSetting(a.id, c.id, { level: 'mentions', muteUntil: 7 });
      expect(await get().notificationSetting(a.id, c.id)).toEqual({ level: 'mentions', muteUntil: 7 });
      expect(await get().notificationSetting(a.id, 0)).toEqual({ level: 'none', muteUntil: 5 });
      expect(await get().notificationSetting(b.id, c.id)).toEqual({ level: null, muteUntil: 0 });
    });

    it('push subscriptions: one endpoint is one device, taken over by whoever adds it; removed by its user or by anyone (null)', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const endpoint = `https://push.example/${a.id}`;
      const s1 = await get().addPushSubscription({ userId: a.id, kind: 'web', deviceId: 'd1', endpoint, p256dh: 'k', auth: 'x' }, T0);
      const s2 = await get().addPushSubscription({ userId: b.id, kind: 'web', deviceId: 'd2', endpoint, p256dh: 'k2', auth: 'y' }, T0);
      expect(s2).toMatchObject({ id: s1.id, userId: b.id, deviceId: 'd2' });
      expect(await get().pushSubscriptions([a.id])).toEqual([]);
      const fcm = await get().addPushSubscription({ userId: a.id, kind: 'fcm', deviceId: 'd3', endpoint: `token-${a.id}`, p256dh: null, auth: null }, T0);
      expect(await get().pushSubscriptions([a.id, b.id])).toEqual([s2, fcm]);
      expect(await get().removePushSubscription(a.id, s2.id)).toBe(false);
      expect(await get().removePushSubscription(b.id, s2.id)).toBe(true);
      expect(await get().removePushSubscription(null, fcm.id)).toBe(true);
      expect(await get().removePushSubscription(null, fcm.id)).toBe(false);
      expect(await get().pushSubscriptions([a.id, b.id])).toEqual([]);
    });

    it('the append writes a row per other participant with a device its setting asks for; claims hold rows until their lease; finish and retry', async () => {
      const t = await f.tenant();
      const [a, b, c, d, e, g] = await f.users(t, 6);
      const conv = await f.conversation(t, 'group', [a, b, c, d, e, g]);
      await get().setNotificationSetting(b.id, conv.id, { level: 'all', muteUntil: 0 });
      await get().setNotificationSetting(d.id, 0, { level: 'none', muteUntil: 0 });
      await get().setNotificationSetting(e.id, conv.id, { level: 'all', muteUntil: T0 + HOUR });
      await get().setNotificationSetting(g.id, conv.id, { level: 'all', muteUntil: 0 });
      for (const u of [a, b, c, d, e]) await get().addPushSubscription({ userId: u.id, kind: 'fcm', deviceId: 'd', endpoint: `outbox-${u.id}`, p256dh: null, auth: null }, T0);
      const before = await get().pendingNotifications();
      // b: all; c: mentions by default and mentioned; d: none; e: muted; g: all but no device; a: the sender.
      const sent = await f.send(conv, a, { createdAt: T0, notify: { dueAt: T0 + 1000, direct: false, mentionIds: [c.id, d.id] } });
      await f.send(conv, a, { createdAt: T0 + 1 });
      expect(await get().pendingNotifications()).toBe(before + 2);
      expect(await get().claimNotifications(T0 + 999, T0 + 5000, 100)).toEqual([]);
      const claimed = (await get().claimNotifications(T0 + 1000, T0 + 5000, 100)).filter((n) => n.conversationId === conv.id);
      expect(claimed.map((n) => n.userId).sort()).toEqual([b.id, c.id].sort());
      for (const n of claimed) expect(n).toMatchObject({ messageId: sent.id, seq: sent.seq, attempts: 1, readSeq: 0, level: n.userId === b.id ? 'all' : 'mentions' });
      expect((await get().claimNotifications(T0 + 4999, T0 + 9000, 100)).filter((n) => n.conversationId === conv.id)).toEqual([]);
      const [toRetry, toFinish] = claimed;
      await get().finishNotifications([toFinish.id]);
      await get().retryNotification(toRetry.id, T0 + 2000);
      expect((await get().claimNotifications(T0 + 2000, T0 + 3000, 100)).map((n) => [n.id, n.attempts])).toEqual([[toRetry.id, 2]]);
      await get().finishNotifications([toRetry.id]);
      expect(await get().pendingNotifications()).toBe(before);
      for (const s of await get().pushSubscriptions([a.id, b.id, c.id, d.id, e.id])) await get().removePushSubscription(null, s.id);
    });

    it('unreadTotal: messages above the user’s seen seq over their conversations, deleted ones left out', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const [c1, c2] = [await f.conversation(t, 'group', [a, b]), await f.conversation(t, 'group', [a, b])];
      const total = await get().unreadTotal(b.id);
      await f.send(c1, a);
      const m = await f.send(c2, a);
      expect(await get().unreadTotal(b.id)).toBe(total + 2);
      await get().deleteMessage(m.id, T0 + 5);
      expect(await get().unreadTotal(b.id)).toBe(total + 1);
    });
  });
}
