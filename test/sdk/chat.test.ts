import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyError, type ParleyClient, type PendingMessage } from '@parley/sdk';
import { useParley } from '../helpers/parley.js';
import { eventually, expectInStepWithRest, expectNoDuplicates, record, registered, type ServerRef } from './support.js';

// The SDK against a real server (SQLite), through `ws`'s WebSocket: what two and three
// people see while they chat, and that each one's ChatState ends where a fresh REST load is.

describe('SDK: chatting', () => {
  const server = useParley();
  let ref: ServerRef;
  const clients: ParleyClient[] = [];
  const user = (c: ParleyClient) => c.user!;
  const track = <T extends ParleyClient>(c: T) => (clients.push(c), c);

  beforeAll(async () => {
    ref = { url: server.url };
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
  });

  it('two people find each other, open a direct chat and see every change of the other', async () => {
    const ada = track(await registered(ref, 'Ada', { typingTtlMs: 400 }));
    const bob = track(await registered(ref, 'Bob', { typingTtlMs: 400 }));
    expect(ada.user).toMatchObject({ name: 'Ada' });
    const found = await ada.searchUsers(user(bob).email);
    expect(found.map((u) => u.id)).toEqual([user(bob).id]);
    const conv = await ada.createDirect(user(bob).id);
    expect(conv).toMatchObject({ kind: 'direct', unread_count: 0, last_seq: 0 });
    expect((await bob.createDirect(user(ada).id)).id).toBe(conv.id);

    const adaEvents = record(ada);
    const bobEvents = record(bob);
    await Promise.all([ada.connect(), bob.connect()]);
    expect(ada.status).toBe('online');
    expect(adaEvents.of('status').map((s) => s.status)).toEqual(['connecting', 'online']);
    await eventually(() => expect(bob.state.conversation(conv.id)).toMatchObject({ kind: 'direct', unread_count: 0 }));

    // Send: an optimistic pending entry at once, replaced by the acked message.
    const seen: PendingMessage[][] = [];
    ada.state.subscribe(() => seen.push(ada.state.pending(conv.id)));
    const h = ada.send(conv.id, { content: 'hello' });
    expect(adaEvents.of('pending')).toEqual([h.pending]);
    expect(ada.state.pending(conv.id)).toEqual([h.pending]);
    expect(ada.state.statusOf(h.pending)).toBe('pending');
    expect(h.pending).toMatchObject({ content: 'hello', kind: 'text', sender_id: user(ada).id, status: 'pending' });
    const m1 = await h.promise;
    expect(m1).toMatchObject({ seq: 1, content: 'hello', local_temp_id: h.localTempId, sender: { id: user(ada).id } });
    expect(ada.state.pending(conv.id)).toEqual([]);
    expect(ada.state.messages(conv.id).map((m) => m.id)).toEqual([m1.id]);
    expect(ada.state.localTempIdOf(m1.id)).toBe(h.localTempId);
    expect(seen[0]).toEqual([h.pending]);
    expect(seen.at(-1)).toEqual([]);
    expect(adaEvents.of('message').map((f) => f.message.local_temp_id)).toEqual([h.localTempId]);
    expect(['sent', 'delivered']).toContain(ada.state.statusOf(ada.state.messages(conv.id)[0]));

    await eventually(() => expect(bob.state.messages(conv.id).map((m) => m.content)).toEqual(['hello']));
    expect(bob.state.conversation(conv.id)).toMatchObject({ unread_count: 1, last_seq: 1, last_message: { id: m1.id } });
    expect(bob.state.statusOf(bob.state.messages(conv.id)[0])).toBeNull();
    // Bob's socket received it: delivered; Bob reads it: read.
    await eventually(() => expect(ada.state.statusOf(ada.state.messages(conv.id)[0])).toBe('delivered'));
    await bob.markRead(conv.id);
    await eventually(() => expect(ada.state.statusOf(ada.state.messages(conv.id)[0])).toBe('read'));
    await eventually(() => expect(bob.state.conversation(conv.id)!.unread_count).toBe(0));
    expect(adaEvents.of('read').at(-1)).toMatchObject({ conversation_id: conv.id, user_id: user(bob).id, read_seq: 1 });

    // Edit, react, unreact, reply, delete: each reaches the other's state and events.
    await ada.edit(m1.id, 'hello!');
    await eventually(() => expect(bob.state.messages(conv.id)[0]).toMatchObject({ content: 'hello!', edited_at: expect.any(String) }));
    await bob.react(m1.id, '🎉');
    await eventually(() => expect(ada.state.messages(conv.id)[0].reactions).toEqual([{ emoji: '🎉', user_ids: [user(bob).id], count: 1 }]));
    expect(adaEvents.of('message_changed').find((f) => f.change === 'reaction_added')).toMatchObject({ emoji: '🎉', user_id: user(bob).id });
    await bob.unreact(m1.id, '🎉');
    await eventually(() => expect(ada.state.messages(conv.id)[0].reactions).toEqual([]));
    const reply = await bob.send(conv.id, { content: 'hi Ada', replyToId: m1.id }).promise;
    expect(reply).toMatchObject({ seq: 2, reply_to_id: m1.id });
    // A thread reply counts in its thread, not in the conversation (issue 18).
    await eventually(() => expect(ada.state.conversation(conv.id)).toMatchObject({ unread_count: 0, last_message: { id: reply.id } }));
    expect(ada.state.messages(conv.id)[0]).toMatchObject({ id: m1.id, reply_count: 1 });

    // Typing: shown, gone on stop, gone by itself after the client's TTL.
    expect(ada.typing(conv.id, true)).toBe(true);
    await eventually(() => expect(bob.state.typing(conv.id)).toEqual([user(ada).id]));
    expect(ada.typing(conv.id, false)).toBe(true);
    await eventually(() => expect(bob.state.typing(conv.id)).toEqual([]));
    expect(ada.typing(conv.id, true)).toBe(true);
    await eventually(() => expect(bob.state.typing(conv.id)).toEqual([user(ada).id]));
    await eventually(() => expect(bob.state.typing(conv.id)).toEqual([]), { timeoutMs: 2000 });
    expect(bobEvents.of('typing').some((f) => f.user_id === user(ada).id && f.is_typing)).toBe(true);

    // Presence.
    await bob.setPresence('busy');
    await eventually(() => expect(ada.state.presence(user(bob).id)).toMatchObject({ online: true, status: 'busy' }));

    await ada.deleteMessage(m1.id);
    await eventually(() => expect(bob.state.messages(conv.id)[0]).toMatchObject({ content: null, deleted_at: expect.any(String) }));
    expect(bob.state.conversation(conv.id)!.last_message!.id).toBe(reply.id);

    // A refused send rejects with the server's code and its pending entry goes.
    const bad = ada.send(conv.id, { content: '' });
    expect(ada.state.pending(conv.id)).toHaveLength(1);
    await expect(bad.promise).rejects.toMatchObject({ name: 'ParleyError', code: 'empty_message' });
    expect(ada.state.pending(conv.id)).toEqual([]);
    expect(adaEvents.of('send_failed')).toEqual([{ local_temp_id: bad.localTempId, conversation_id: conv.id, code: 'empty_message', message: expect.any(String) }]);

    // Over REST: the same ack, and Bob sees it once.
    const viaRest = ada.send(conv.id, { content: 'over REST' }, { via: 'rest' });
    expect(await viaRest.promise).toMatchObject({ seq: 3, content: 'over REST', local_temp_id: viaRest.localTempId });
    await eventually(() => expect(bob.state.conversation(conv.id)!.last_seq).toBe(3));
    await bob.markRead(conv.id);

    // REST errors carry the status and a code.
    const err = await ada.edit(reply.id, 'not mine').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParleyError);
    expect(err).toMatchObject({ status: 403 });

    await expectInStepWithRest(ada, ref);
    await expectInStepWithRest(bob, ref);
    for (const r of [adaEvents, bobEvents]) expectNoDuplicates(r);
    expect(bobEvents.of('message').map((f) => f.message.seq)).toEqual([1, 2, 3]);
    expect(adaEvents.of('message').map((f) => f.message.seq)).toEqual([1, 2, 3]);
  });

  it('a group of three: joins, roles, a rename, receipts, a removal; everyone in step', async () => {
    const [ann, ben, cat] = [track(await registered(ref, 'Ann')), track(await registered(ref, 'Ben')), track(await registered(ref, 'Cat'))];
    const recs = [record(ann), record(ben), record(cat)];
    await Promise.all([ann.connect(), ben.connect(), cat.connect()]);
    const g = await ann.createGroup('Team', [user(ben).id]);
    expect(g).toMatchObject({ kind: 'group', title: 'Team', my_role: 'admin' });
    // Ben hears of it live (conversation_changed created); Cat is not in it.
    await eventually(() => expect(ben.state.conversation(g.id)).toMatchObject({ title: 'Team', my_role: 'member' }));
    expect(recs[1].of('conversation_changed')).toContainEqual(expect.objectContaining({ change: 'created', conversation: expect.objectContaining({ id: g.id }) }));
    expect(cat.state.conversation(g.id)).toBeUndefined();

    const first = await ann.send(g.id, { content: 'before Cat' }).promise;
    await ann.addParticipant(g.id, user(cat).id);
    await eventually(() => expect(cat.state.conversation(g.id)?.members).toHaveLength(3));
    await eventually(() => expect(ben.state.conversation(g.id)?.members).toHaveLength(3));
    // Cat got the newest page with the conversation.
    await eventually(() => expect(cat.state.messages(g.id).map((m) => m.id)).toEqual([first.id]));

    const sent = await Promise.all([ann, ben, cat].map((c, i) => c.send(g.id, { content: `from ${i}` }).promise));
    const order = [first.id, ...sent.map((m) => m.id)].sort((a, b) => a - b);
    for (const c of [ann, ben, cat]) await eventually(() => expect(c.state.messages(g.id).map((m) => m.id)).toEqual(order));

    // Ann's newest message: read once both others have read it (a sender has read up to their own).
    const annMsg = await ann.send(g.id, { content: 'read me' }).promise;
    const status = () => ann.state.statusOf(ann.state.messages(g.id).find((m) => m.id === annMsg.id)!);
    expect(['sent', 'delivered']).toContain(status());
    // markRead() marks what the reader's state has seen.
    for (const c of [ben, cat]) await eventually(() => expect(c.state.conversation(g.id)!.last_seq).toBe(annMsg.seq));
    await ben.markRead(g.id);
    await eventually(() => expect(ann.state.conversation(g.id)!.members.find((m) => m.user.id === user(ben).id)!.read_seq).toBe(annMsg.seq));
    expect(['sent', 'delivered']).toContain(status());
    await cat.markRead(g.id);
    await eventually(() => expect(status()).toBe('read'));

    await ann.setRole(g.id, user(ben).id, 'moderator');
    await eventually(() => expect(ben.state.conversation(g.id)!.my_role).toBe('moderator'));
    await eventually(() => expect(cat.state.conversation(g.id)!.members.find((m) => m.user.id === user(ben).id)!.role).toBe('moderator'));
    await ben.renameConversation(g.id, 'Core team');
    for (const c of [ann, ben, cat]) await eventually(() => expect(c.state.conversation(g.id)!.title).toBe('Core team'));
    await ann.react(sent[1].id, '👍');

    await ann.removeParticipant(g.id, user(cat).id);
    await eventually(() => expect(cat.state.conversation(g.id)).toBeUndefined());
    await eventually(() => expect(ben.state.conversation(g.id)!.members).toHaveLength(2));
    expect(recs[2].of('participant_changed')).toContainEqual(expect.objectContaining({ change: 'removed', user: expect.objectContaining({ id: user(cat).id }) }));
    const after = await ann.send(g.id, { content: 'after Cat' }).promise;
    await eventually(() => expect(ben.state.conversation(g.id)!.last_message!.id).toBe(after.id));

    // A channel: members read, only admins and moderators post.
    const ch = await ann.createChannel('News', [user(ben).id]);
    await eventually(() => expect(ben.state.conversation(ch.id)).toBeDefined());
    await ann.setRole(ch.id, user(ben).id, 'member');
    await expect(ben.send(ch.id, { content: 'may I?' }).promise).rejects.toMatchObject({ code: 'not_permitted' });

    for (const c of [ann, ben, cat]) await expectInStepWithRest(c, ref);
    for (const r of recs) expectNoDuplicates(r);
    expect(cat.state.messages(g.id)).toEqual([]);

    await ann.deleteConversation(ch.id);
    await eventually(() => expect(ben.state.conversation(ch.id)).toBeUndefined());
  });

  it('history pages upward: beforeSeq, hasMore, loadOlder until the first message', async () => {
    const hal = track(await registered(ref, 'Hal'));
    const ivy = track(await registered(ref, 'Ivy'));
    const conv = await hal.createDirect(user(ivy).id);
    // Not connected: sends go over REST.
    for (let i = 1; i <= 7; i++) await hal.send(conv.id, { content: `m${i}` }).promise;
    const p1 = await ivy.history(conv.id, { limit: 3 });
    expect(p1.messages.map((m) => m.seq)).toEqual([5, 6, 7]);
    expect(p1).toMatchObject({ hasMore: true, lastSeq: 7 });
    expect(ivy.state.hasMore(conv.id)).toBe(true);
    const p2 = await ivy.loadOlder(conv.id, 3);
    expect(p2.messages.map((m) => m.seq)).toEqual([2, 3, 4]);
    expect(p2.hasMore).toBe(true);
    const p3 = await ivy.history(conv.id, { beforeSeq: 2, limit: 3 });
    expect(p3.messages.map((m) => m.content)).toEqual(['m1']);
    expect(p3.hasMore).toBe(false);
    expect(ivy.state.messages(conv.id).map((m) => m.content)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(ivy.state.hasMore(conv.id)).toBe(false);
    await ivy.listConversations();
    expect(ivy.state.conversation(conv.id)).toMatchObject({ unread_count: 7, last_message: { content: 'm7' } });
    await ivy.markRead(conv.id, 5);
    expect(ivy.state.conversation(conv.id)).toMatchObject({ unread_count: 2, my_read_seq: 5 });
    await expectInStepWithRest(ivy, ref);
  });
});
