// Reactions (003, Reactions: GET/POST messages/{id}/reactions/, and Parley's DELETE
// …/reactions/?emoji=): one per user per emoji per message (adding twice is idempotent: one
// reaction, one reaction_added event), emoji validated, removal idempotent; a 👍 is the
// like of /api/chat (001's like_count) for the same message.
import { describe, expect, it } from 'vitest';
import { api, chatHistory, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, ISO_MS, conversationWith, createConversation, databases, expectDetail, expectStatus, getMessage, nextError, sendMessage, settle, socket003, users } from './support.js';

const THUMBS = '👍';
const enc = encodeURIComponent;

describe.each(databases)('003 reactions on %s', (db) => {
  const server = useParley({ db });

  const react = (u: TestUser, messageId: string, emoji: unknown) => api(server, 'POST', `${P}/messages/${messageId}/reactions/`, { token: u.token, json: { emoji } });
  const unreact = (u: TestUser, messageId: string, emoji: string) => api(server, 'DELETE', `${P}/messages/${messageId}/reactions/?emoji=${enc(emoji)}`, { token: u.token });
  const reactions = async (u: TestUser, messageId: string) => {
    const res = await api(server, 'GET', `${P}/messages/${messageId}/reactions/`, { token: u.token });
    expectStatus(res, 200);
    return res.body as any[];
  };

  it('POST reactions/ as documented adds one; GET lists it; the message shows it', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, conv, 'react');
    const res = await react(b, m.id, THUMBS);
    expect([200, 201]).toContain(res.status);
    expect(res.body).toMatchObject({ message_id: m.id, user_id: b.user.uuid, emoji: THUMBS });
    expect(res.body.created_at).toMatch(ISO_MS);
    expect(await reactions(a, m.id)).toEqual([expect.objectContaining({ message_id: m.id, user_id: b.user.uuid, emoji: THUMBS })]);
    expect((await getMessage(server, a, conv, m.id)).reactions).toEqual([expect.objectContaining({ user_id: b.user.uuid, emoji: THUMBS })]);
    // Several emojis and several users.
    await react(a, m.id, '❤️');
    await react(a, m.id, THUMBS);
    await react(b, m.id, '👨‍👩‍👧');
    const all = await reactions(b, m.id);
    expect(all.map((r) => `${r.user_id === a.user.uuid ? 'a' : 'b'}${r.emoji}`).sort()).toEqual([`a${THUMBS}`, 'a❤️', `b${THUMBS}`, 'b👨‍👩‍👧'].sort());
  });

  it('adding the same reaction twice (REST or socket) leaves one reaction and sends one reaction_added', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, conv, 'twice');
    const sa = await socket003(server, a, [conv]);
    const sb = await socket003(server, b, [conv]);
    const first = await react(b, m.id, THUMBS);
    expect([200, 201]).toContain(first.status);
    const second = await react(b, m.id, THUMBS);
    expect([200, 201]).toContain(second.status);
    sb.send({ type: 'add_reaction', message_id: m.id, emoji: THUMBS });
    await sa.next('reaction_added');
    await settle(sb, 250);
    expect(sa.all('reaction_added')).toHaveLength(1);
    expect(sb.all('reaction_added')).toHaveLength(1);
    expect(sb.all('error')).toEqual([]);
    expect(await reactions(a, m.id)).toHaveLength(1);
    expect((await getMessage(server, a, conv, m.id)).reactions).toHaveLength(1);
  });

  it('refuses text that is not an emoji ("abc") on REST and the socket', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, conv, 'validate');
    for (const bad of ['abc', 'a👍', '👍 ok', ' ', '<script>']) expectDetail(await react(b, m.id, bad), [400, 422]);
    for (const wrongType of [1, null, ['👍'], { e: '👍' }]) expectDetail(await react(b, m.id, wrongType), 422);
    expectDetail(await api(server, 'POST', `${P}/messages/${m.id}/reactions/`, { token: b.token, json: {} }), 422);
    const s = await socket003(server, b, [conv]);
    s.send({ type: 'add_reaction', message_id: m.id, emoji: 'abc' });
    await nextError(s);
    expect(await reactions(a, m.id)).toEqual([]);
  });

  it('DELETE reactions/?emoji= removes it (204), again is harmless; one reaction_removed event', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, conv, 'remove');
    await react(b, m.id, THUMBS);
    await react(a, m.id, THUMBS);
    const sa = await socket003(server, a, [conv]);
    expectStatus(await unreact(b, m.id, THUMBS), 204);
    const removed = await sa.next('reaction_removed');
    expect(removed.reaction).toMatchObject({ message_id: m.id, user_id: b.user.uuid, emoji: THUMBS });
    expectStatus(await unreact(b, m.id, THUMBS), 204);
    // Via the socket too: nothing left to remove, no event.
    const sb = await socket003(server, b, [conv]);
    sb.send({ type: 'remove_reaction', message_id: m.id, emoji: THUMBS });
    await settle(sb, 250);
    expect(sa.all('reaction_removed')).toHaveLength(1);
    expect(sb.all('error')).toEqual([]);
    // Only b's went; a's stays.
    expect(await reactions(b, m.id)).toEqual([expect.objectContaining({ user_id: a.user.uuid, emoji: THUMBS })]);
    // A DELETE without an emoji names the problem.
    expectDetail(await api(server, 'DELETE', `${P}/messages/${m.id}/reactions/`, { token: a.token }), [400, 422]);
  });

  it('a deleted message takes no reaction; an outsider gets 404', async () => {
    const [a, b, o] = await users(server, 3);
    const conv = await conversationWith(server, a, [b]);
    const m = await sendMessage(server, a, conv, 'gone soon');
    expectDetail(await react(o, m.id, THUMBS), 404);
    expectDetail(await api(server, 'GET', `${P}/messages/${m.id}/reactions/`, { token: o.token }), 404);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${m.id}/`, { token: a.token }), 204);
    expectDetail(await react(b, m.id, THUMBS), [400, 404, 409]);
  });

  it('a 👍 added through 003 is like_count 1 in /api/chat\'s history of the same direct conversation', async () => {
    const [a, b] = await users(server, 2);
    const direct = await createConversation(server, a, 'direct', null, { participant_ids: [b.user.uuid] });
    const m = await sendMessage(server, a, direct.id, 'like me');
    expect([200, 201]).toContain((await react(b, m.id, THUMBS)).status);

    const rooms = await api(server, 'GET', '/api/chat/rooms', { token: a.token });
    expectStatus(rooms, 200);
    const room = rooms.body.rooms.find((r: any) => r.uuid === direct.id);
    expect(room, JSON.stringify(rooms.body)).toBeDefined();
    expect(room.room_type).toBe('direct');
    for (const [viewer, liked] of [
      [a, false],
      [b, true],
    ] as const) {
      const h = await chatHistory(server, viewer, room.id);
      expect(h.messages).toHaveLength(1);
      expect(h.messages[0]).toMatchObject({ uuid: m.id, content: 'like me', like_count: 1, is_liked: liked });
    }
    // And removing it here unlikes it there.
    expectStatus(await unreact(b, m.id, THUMBS), 204);
    expect((await chatHistory(server, a, room.id)).messages[0].like_count).toBe(0);
  });
});
