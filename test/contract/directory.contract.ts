import { describe, expect, it } from 'vitest';
import type { Conversation, Tenant, User } from '../../src/core/model.js';
import { StoreError, type DirectoryCursor, type Store } from '../../src/backends/store/store.js';
import { fixtures } from './store.contract.js';

/** The channel directory's part of the store contract (issue 18): storeContract runs it on each store. */
export function directoryContract(store: () => Store): void {
  const f = fixtures(store);

  const channel = (t: Tenant, owner: User, title: string, visibility: 'public' | 'private' = 'public', kind: 'channel' | 'group' = 'channel') =>
    store().createConversation({ tenantId: t.id, kind, title, createdBy: owner.id, participants: [{ userId: owner.id, role: 'admin' }], visibility }, 1_000);

  /** Every page of the directory, `limit` at a time. */
  async function everyPage(t: Tenant, u: User, limit: number, q?: string) {
    const out = [];
    let after: DirectoryCursor | undefined;
    for (;;) {
      const page = await store().publicChannels(t.id, u.id, { q, after, limit });
      out.push(...page);
      if (page.length < limit) return out;
      const last = page.at(-1)!;
      after = { nameKey: last.nameKey, id: last.conversation.id };
    }
  }
  const titles = (list: { conversation: Conversation }[]) => list.map((e) => e.conversation.title);

  describe('channel directory', () => {
    it('a conversation is private unless created public', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      expect((await f.conversation(t, 'channel', [a, b])).visibility).toBe('private');
      expect((await f.conversation(t, 'direct', [a, b])).visibility).toBe('private');
      expect((await channel(t, a, 'News')).visibility).toBe('public');
    });

    it("lists exactly the tenant's live public channels, by folded name then id, each once across pages", async () => {
      const [t, other] = [await f.tenant(), await f.tenant()];
      const [a, b] = await f.users(t, 2);
      const [x] = await f.users(other, 1);
      for (const title of ['zeta', 'Alpha', 'beta', 'alpha', 'Ｇａｍｍａ', 'Équipe', 'delta']) await channel(t, a, title);
      await channel(t, a, 'secret', 'private');
      await channel(t, a, 'a group', 'private', 'group');
      const gone = await channel(t, a, 'deleted one');
      await store().deleteConversation(gone.id, 2_000);
      await channel(other, x, 'elsewhere');
      const expected = ['Alpha', 'alpha', 'beta', 'delta', 'Ｇａｍｍａ', 'zeta', 'Équipe'];
      for (const limit of [1, 2, 3, 50]) expect(titles(await everyPage(t, b, limit))).toEqual(expected);
      expect(titles(await everyPage(other, x, 10))).toEqual(['elsewhere']);
    });

    it('finds a part of the name in any case and width; wildcards are plain characters', async () => {
      const t = await f.tenant();
      const [a] = await f.users(t, 1);
      for (const title of ['Release Train', 'release-notes', 'Équipe Paris', 'Ｇａｍｍａ rays', '100% done', 'a_b']) await channel(t, a, title);
      expect(titles(await everyPage(t, a, 10, 'RELEASE'))).toEqual(['Release Train', 'release-notes']);
      expect(titles(await everyPage(t, a, 1, 'release'))).toEqual(['Release Train', 'release-notes']);
      expect(titles(await everyPage(t, a, 10, 'équipe'))).toEqual(['Équipe Paris']);
      expect(titles(await everyPage(t, a, 10, 'gamma'))).toEqual(['Ｇａｍｍａ rays']);
      expect(titles(await everyPage(t, a, 10, '%'))).toEqual(['100% done']);
      expect(titles(await everyPage(t, a, 10, '_'))).toEqual(['a_b']);
      expect(await everyPage(t, a, 10, 'nothing like it')).toEqual([]);
    });

    it('says whether the user is a current participant, and keeps member_count', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const c = await channel(t, a, 'general');
      const member = async (u: User) => (await store().publicChannels(t.id, u.id, { limit: 10 }))[0];
      expect((await member(a)).member).toBe(true);
      expect(await member(b)).toMatchObject({ member: false, conversation: { memberCount: 1 } });
      await store().addParticipants(c.id, [{ userId: b.id, role: 'member' }], 2_000, { publicOnly: true });
      expect(await member(b)).toMatchObject({ member: true, conversation: { memberCount: 2 } });
      await store().removeParticipant(c.id, b.id, 3_000);
      expect(await member(b)).toMatchObject({ member: false, conversation: { memberCount: 1 } });
    });

    it('a rename moves a channel in the directory; a change of visibility lists or unlists it', async () => {
      const t = await f.tenant();
      const [a] = await f.users(t, 1);
      const c = await channel(t, a, 'old name', 'private');
      expect(await store().publicChannels(t.id, a.id, { limit: 10 })).toEqual([]);
      expect((await store().updateConversation(c.id, { visibility: 'public' }, 2_000))?.visibility).toBe('public');
      await store().updateConversation(c.id, { title: 'New Name' }, 3_000);
      expect(titles(await everyPage(t, a, 10, 'new'))).toEqual(['New Name']);
      expect(await everyPage(t, a, 10, 'old')).toEqual([]);
      await store().updateConversation(c.id, { visibility: 'private' }, 4_000);
      expect(await store().publicChannels(t.id, a.id, { limit: 10 })).toEqual([]);
    });

    it('a join (publicOnly) is refused, adding no one, unless the conversation is a live public channel', async () => {
      const t = await f.tenant();
      const [a, b] = await f.users(t, 2);
      const refused = async (c: Conversation) => {
        await expect(store().addParticipants(c.id, [{ userId: b.id, role: 'member' }], 2_000, { publicOnly: true })).rejects.toEqual(new StoreError('conversation_not_found'));
        expect(await store().participant(c.id, b.id)).toBeUndefined();
      };
      await refused(await channel(t, a, 'private one', 'private'));
      await refused(await channel(t, a, 'a group', 'private', 'group'));
      const gone = await channel(t, a, 'gone');
      await store().deleteConversation(gone.id, 1_500);
      await refused(gone);
      const open = await channel(t, a, 'open');
      expect(await store().addParticipants(open.id, [{ userId: b.id, role: 'member' }], 2_000, { publicOnly: true })).toEqual([b.id]);
      expect(await store().addParticipants(open.id, [{ userId: b.id, role: 'member' }], 2_000, { publicOnly: true })).toEqual([]);
    });
  });
}
