import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/backends/store/store.js';
import { fixtures, T0, type StoreHandle } from './store.contract.js';

/**
 * The ModerationStore's contract (store.ts): a sanction is in force exactly while `until` is
 * null or later than now; a report is filed once per reporter and message and resolved once.
 * Run against SQLite and PostgreSQL by store.test.ts.
 */
export function moderationContract(make: () => Promise<StoreHandle>): void {
  describe('moderation (issue 20)', () => {
    let handle: StoreHandle;
    const store = (): Store => handle.store;
    const f = fixtures(store);
    beforeAll(async () => {
      handle = await make();
    });
    afterAll(() => handle?.close());

    async function room(n = 3) {
      const tenant = await f.tenant();
      const users = await f.users(tenant, n);
      return { tenant, users, conversation: await f.conversation(tenant, 'group', users) };
    }

    it('a sanction is in force while until is null or later than now, lifted at until (property)', async () => {
      const { users: [a, b], conversation } = await room();
      await fc.assert(
        fc.asyncProperty(fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: null }), fc.integer({ min: -1000, max: 1000 }), async (offset, probe) => {
          const until = offset === null ? null : T0 + offset;
          await store().putSanction({ conversationId: conversation.id, userId: b.id, kind: 'mute', reason: 'r', until, createdBy: a.id, createdAt: T0 - 5000 });
          const now = T0 + probe;
          const inForce = until === null || now < until;
          expect((await store().sanctionsOf(conversation.id, b.id, now)).map((s) => s.kind)).toEqual(inForce ? ['mute'] : []);
          expect((await store().sanctions(conversation.id, now)).length).toBe(inForce ? 1 : 0);
          expect(await store().liftSanction(conversation.id, b.id, 'mute', now)).toBe(inForce);
          // Lifted, it is in force at no time; a lapsed one was left as it was.
          expect((await store().sanctionsOf(conversation.id, b.id, T0 - 10_000)).length).toBe(inForce ? 0 : 1);
        }),
        { numRuns: 25, seed: 20 },
      );
    });

    it('a ban and a mute are kept apart, and a second put replaces the first', async () => {
      const { users: [a, b], conversation } = await room();
      const base = { conversationId: conversation.id, userId: b.id, reason: null, createdBy: a.id, createdAt: T0 };
      await store().putSanction({ ...base, kind: 'ban', until: null });
      await store().putSanction({ ...base, kind: 'mute', until: T0 + 10 });
      await store().putSanction({ ...base, kind: 'mute', until: T0 + 100, reason: 'again' });
      const now = await store().sanctionsOf(conversation.id, b.id, T0 + 50);
      expect(now.map((s) => [s.kind, s.until, s.reason]).sort()).toEqual([['ban', null, null], ['mute', T0 + 100, 'again']]);
      expect(await store().liftSanction(conversation.id, b.id, 'ban', T0)).toBe(true);
      expect((await store().sanctionsOf(conversation.id, b.id, T0)).map((s) => s.kind)).toEqual(['mute']);
    });

    it('a user banned at the time of an add is never added (a ban racing an add wins); a lapsed ban keeps no one out', async () => {
      const { tenant, users: [a, b], conversation } = await room(2);
      const [c, d] = await f.users(tenant, 2);
      const base = { conversationId: conversation.id, reason: null, createdBy: a.id, createdAt: T0 };
      await store().putSanction({ ...base, userId: c.id, kind: 'ban', until: null });
      await store().putSanction({ ...base, userId: d.id, kind: 'ban', until: T0 + 10 });
      expect(await store().addParticipants(conversation.id, [{ userId: c.id, role: 'member' }, { userId: d.id, role: 'member' }], T0 + 5)).toEqual([]);
      expect(await store().memberRole(conversation.id, c.id)).toBeUndefined();
      expect(await store().addParticipants(conversation.id, [{ userId: c.id, role: 'member' }, { userId: d.id, role: 'member' }], T0 + 10)).toEqual([d.id]);
      expect(await store().memberRole(conversation.id, c.id)).toBeUndefined();
      expect(await store().memberRole(conversation.id, b.id)).toBe('member');
    });

    it('a report is filed once per reporter and message, resolved once, and listed by scope', async () => {
      const { tenant, users: [a, b, c], conversation } = await room();
      const m = await f.send(conversation, a, { content: 'bad' });
      const base = { tenantId: tenant.id, conversationId: conversation.id, messageId: m.id, authorId: a.id, reason: 'spam', createdAt: T0 };
      const first = (await store().createReport({ ...base, reporterId: b.id }))!;
      expect(first).toMatchObject({ state: 'open', reporterId: b.id, resolvedBy: null });
      expect(await store().createReport({ ...base, reporterId: b.id, reason: 'again' })).toBeUndefined();
      const second = (await store().createReport({ ...base, reporterId: c.id }))!;
      expect((await store().openReports({ tenantId: tenant.id }, 0, 10)).map((r) => r.id)).toEqual([first.id, second.id]);
      expect((await store().openReports({ tenantId: tenant.id }, first.id, 10)).map((r) => r.id)).toEqual([second.id]);
      // a is the group's admin (the fixture's first member); b a member.
      expect((await store().openReports({ tenantId: tenant.id, moderatorId: a.id }, 0, 10)).length).toBe(2);
      expect(await store().openReports({ tenantId: tenant.id, moderatorId: b.id }, 0, 10)).toEqual([]);
      expect(await store().resolveReport(first.id, 'dismissed', a.id, T0 + 1)).toBe(true);
      expect(await store().resolveReport(first.id, 'deleted', a.id, T0 + 2)).toBe(false);
      expect(await store().report(first.id)).toMatchObject({ state: 'dismissed', resolvedBy: a.id, resolvedAt: T0 + 1 });
      expect((await store().openReports({ tenantId: tenant.id }, 0, 10)).map((r) => r.id)).toEqual([second.id]);
      expect((await store().reportsBy(b.id, undefined, 10)).map((r) => r.state)).toEqual(['dismissed']);
      // A claim whose action was refused goes back to open; only that claim, only once.
      expect(await store().reopenReport(first.id, 'dismissed', a.id, T0 + 2)).toBe(false);
      expect(await store().reopenReport(first.id, 'dismissed', a.id, T0 + 1)).toBe(true);
      expect(await store().report(first.id)).toMatchObject({ state: 'open', resolvedBy: null, resolvedAt: null });
      expect(await store().reopenReport(first.id, 'dismissed', a.id, T0 + 1)).toBe(false);
    });

    it('a deletion reason is kept once per message', async () => {
      const { users: [a, b], conversation } = await room();
      const m = await f.send(conversation, b, { content: 'x' });
      await store().recordDeletion(m.id, a.id, 'first');
      await store().recordDeletion(m.id, a.id, 'second');
      expect(await store().deletionsOf([m.id, m.id + 1000])).toEqual(new Map([[m.id, { deletedBy: a.id, reason: 'first' }]]));
    });
  });
}
