import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/backends/store/store.js';
import { fixtures, T0, type StoreHandle } from './store.contract.js';

/**
 * The CurationStore's contract (store.ts): revisions written by the edit and removed by a
 * delete for everyone, delete for me, pins, and saved messages that only list what their
 * user may still see. Run against SQLite and PostgreSQL by store.test.ts.
 */
export function curationContract(make: () => Promise<StoreHandle>): void {
  describe('curation (issue 18)', () => {
    let handle: StoreHandle;
    const store = (): Store => handle.store;
    const f = fixtures(store);
    beforeAll(async () => {
      handle = await make();
    });
    afterAll(() => handle?.close());

    async function room(n = 2, kind: 'direct' | 'group' = n === 2 ? 'direct' : 'group') {
      const tenant = await f.tenant();
      const users = await f.users(tenant, n);
      return { users, conversation: await f.conversation(tenant, kind, users) };
    }

    it('an edit keeps the text it replaces as a revision, in order, with who and when; a delete for everyone removes them', async () => {
      const { users: [a], conversation } = await room();
      const m = await f.send(conversation, a, { content: 'one', createdAt: T0 });
      await store().editMessage(m.id, 'two', T0 + 10);
      await store().editMessage(m.id, 'three', T0 + 20);
      expect(await store().revisions(m.id)).toEqual([
        { messageId: m.id, editorId: a.id, content: 'one', writtenAt: T0, replacedAt: T0 + 10 },
        { messageId: m.id, editorId: a.id, content: 'two', writtenAt: T0 + 10, replacedAt: T0 + 20 },
      ]);
      expect((await store().messageById(m.id))!.content).toBe('three');
      await store().pinMessage(m, a.id, T0 + 30);
      await store().deleteMessage(m.id, T0 + 40);
      expect(await store().revisions(m.id)).toEqual([]);
      expect(await store().pins(conversation.id)).toEqual([]);
      // An edit refused (deleted) writes no revision.
      await expect(store().editMessage(m.id, 'four', T0 + 50)).rejects.toThrow('message_deleted');
      expect(await store().revisions(m.id)).toEqual([]);
    });

    it('revisions are exactly the earlier texts, oldest first, after any edits (property)', async () => {
      const { users: [a], conversation } = await room();
      await fc.assert(
        fc.asyncProperty(fc.array(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 0, maxLength: 6 }), async (texts) => {
          const m = await f.send(conversation, a, { content: 'first' });
          for (const [i, t] of texts.entries()) await store().editMessage(m.id, t, T0 + i + 1);
          const all = ['first', ...texts];
          expect((await store().revisions(m.id)).map((r) => r.content)).toEqual(all.slice(0, -1));
          expect((await store().messageById(m.id))!.content).toBe(all.at(-1));
        }),
        { numRuns: 15, seed: 18 },
      );
    });

    it('delete for me: hidden for that user only, once; the preview falls back to their newest visible message', async () => {
      const { users: [a, b], conversation } = await room();
      const m1 = await f.send(conversation, a);
      const m2 = await f.send(conversation, b);
      expect(await store().hideMessage(a.id, m2, T0)).toBe(true);
      expect(await store().hideMessage(a.id, m2, T0 + 1)).toBe(false);
      expect(await store().hiddenMessageIds(a.id, [m1.id, m2.id])).toEqual(new Set([m2.id]));
      expect(await store().hiddenMessageIds(b.id, [m1.id, m2.id])).toEqual(new Set());
      expect((await store().newestUnhidden(a.id, conversation.id, m2.seq))!.id).toBe(m1.id);
      expect((await store().newestUnhidden(b.id, conversation.id, m2.seq))!.id).toBe(m2.id);
      await store().hideMessage(a.id, m1, T0);
      expect(await store().newestUnhidden(a.id, conversation.id, m2.seq)).toBeUndefined();
      await store().hideMessage(b.id, m1, T0);
      expect((await store().hidersOf(m1.id)).sort((x, y) => x - y)).toEqual([a.id, b.id].sort((x, y) => x - y));
      expect(await store().hidersOf(m2.id)).toEqual([a.id]);
    });

    it('pins: one per message (the first stays), newest pin first, unpin once', async () => {
      const { users: [a, b], conversation } = await room();
      const m1 = await f.send(conversation, a);
      const m2 = await f.send(conversation, b);
      expect(await store().pinMessage(m1, a.id, T0 + 1)).toBe(true);
      expect(await store().pinMessage(m1, b.id, T0 + 2)).toBe(false);
      expect(await store().pinMessage(m2, b.id, T0 + 3)).toBe(true);
      const pins = await store().pins(conversation.id);
      expect(pins.map((p) => [p.message.id, p.pinnedBy, p.pinnedAt])).toEqual([
        [m2.id, b.id, T0 + 3],
        [m1.id, a.id, T0 + 1],
      ]);
      expect(await store().unpinMessage(m2)).toBe(true);
      expect(await store().unpinMessage(m2)).toBe(false);
      expect((await store().pins(conversation.id)).map((p) => p.message.id)).toEqual([m1.id]);
    });

    it('saved: newest first in cursor pages; what the user can no longer see is left out', async () => {
      const tenant = await f.tenant();
      const [a, b] = await f.users(tenant, 2);
      const group = await f.conversation(tenant, 'group', [b, a]);
      const direct = await f.conversation(tenant, 'direct', [a, b]);
      const ms = [];
      for (let i = 0; i < 5; i++) ms.push(await f.send(i % 2 ? group : direct, b));
      for (const [i, m] of ms.entries()) expect(await store().saveMessage(a.id, m, T0 + (i < 2 ? 1 : i))).toBe(true);
      expect(await store().saveMessage(a.id, ms[0], T0 + 99)).toBe(false);
      const page1 = await store().savedMessages(a.id, 2);
      expect(page1.map((s) => s.message.id)).toEqual([ms[4].id, ms[3].id]);
      const last = page1.at(-1)!;
      const page2 = await store().savedMessages(a.id, 2, { at: last.savedAt, id: last.id });
      // Two saves in one millisecond: the later save first.
      expect(page2.map((s) => s.message.id)).toEqual([ms[2].id, ms[1].id]);
      expect((await store().savedMessages(a.id, 10)).map((s) => s.message.id)).toEqual([ms[4].id, ms[3].id, ms[2].id, ms[1].id, ms[0].id]);
      expect(await store().savedMessages(b.id, 10)).toEqual([]);

      await store().deleteMessage(ms[4].id, T0 + 100);
      await store().hideMessage(a.id, ms[2], T0 + 100);
      expect((await store().savedMessages(a.id, 10)).map((s) => s.message.id)).toEqual([ms[3].id, ms[1].id, ms[0].id]);
      await store().removeParticipant(group.id, a.id, T0 + 101);
      expect((await store().savedMessages(a.id, 10)).map((s) => s.message.id)).toEqual([ms[0].id]);
      await store().deleteConversation(direct.id, T0 + 102);
      expect(await store().savedMessages(a.id, 10)).toEqual([]);
      expect(await store().unsaveMessage(a.id, ms[0].id)).toBe(true);
      expect(await store().unsaveMessage(a.id, ms[0].id)).toBe(false);
    });
  });
}
