// One core under every dialect (DESIGN.md): a 003 group is a room of /api/chat (room_type
// "group", found through GET /api/chat/rooms); its messages reach members' /api/chat sockets
// joined with room_id=<the group's integer id>; a participant removed through 003 stops
// receiving its events on every socket of every dialect.
import { describe, expect, it } from 'vitest';
import { api, chatHistory, chatSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, conversationWith, databases, expectStatus, sendMessage, sleep, socket003, users } from './support.js';

describe.each(databases)('003 across dialects on %s', (db) => {
  const server = useParley({ db });

  /** The /api/chat room of a 003 conversation, by its uuid. */
  async function roomOf(user: TestUser, uuid: string): Promise<any> {
    const res = await api(server, 'GET', '/api/chat/rooms', { token: user.token });
    expectStatus(res, 200);
    const room = res.body.rooms.find((r: any) => r.uuid === uuid);
    expect(room, JSON.stringify(res.body)).toBeDefined();
    return room;
  }

  it('a 003 group is an /api/chat room of type "group"; its messages reach /api/chat sockets joined with room_id', async () => {
    const [a, b, c] = await users(server, 3);
    const conv = await conversationWith(server, a, [b, c], 'group', 'Bridged');
    const room = await roomOf(b, conv);
    expect(room).toMatchObject({ room_type: 'group', name: 'Bridged' });
    expect(room.id).toBeTypeOf('number');
    expect((await roomOf(c, conv)).id).toBe(room.id);

    const chatB = await chatSocket(server, b, room.id);
    const chatC = await chatSocket(server, c, room.id);
    const m = await sendMessage(server, a, conv, 'from 003 to everyone');
    for (const s of [chatB, chatC]) {
      const f = await s.next('new_message');
      expect(f.data).toMatchObject({ room_id: room.id, uuid: m.id, content: 'from 003 to everyone', sender_id: a.user.id });
    }
    // And the other way: an /api/chat send reaches the 003 sockets of the group.
    const sa = await socket003(server, a, [conv]);
    chatB.send({ type: 'send_message', data: { room_id: room.id, message_type: 'text', content: 'from /api/chat', local_temp_id: 'x-1' } });
    const back = await sa.next('new_message');
    expect(back.message).toMatchObject({ content: 'from /api/chat', sender_id: b.user.uuid });
    // Both in both histories.
    const h = await chatHistory(server, c, room.id);
    expect(h.messages.map((x) => x.content)).toEqual(['from 003 to everyone', 'from /api/chat']);
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: c.token });
    expect(list.body.results.map((x: any) => x.content)).toEqual(['from /api/chat', 'from 003 to everyone']);
    for (const s of [chatB, chatC, sa]) s.close();
  });

  it('a direct room opened through /api/chat is a 003 direct conversation, and the other way round', async () => {
    const [a, b] = await users(server, 2);
    const opened = await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
    expectStatus(opened, 200);
    const list = await api(server, 'GET', `${P}/conversations/`, { token: b.token });
    const conv = list.body.find((c: any) => c.id === opened.body.uuid);
    expect(conv).toMatchObject({ conversation_type: 'direct', participant_count: 2 });
    // Creating it through 003 finds the same one.
    const again = await api(server, 'POST', `${P}/conversations/`, { token: b.token, json: { conversation_type: 'direct', participant_ids: [a.user.uuid] } });
    expect(again.body.id).toBe(opened.body.uuid);
    const m = await sendMessage(server, b, conv.id, 'over 003');
    const h = await chatHistory(server, a, opened.body.id);
    expect(h.messages).toEqual([expect.objectContaining({ uuid: m.id, content: 'over 003', sender_id: b.user.id, receiver_id: a.user.id })]);
  });

  it('the channel rule and the moderator delete hold through /api/chat too (one core)', async () => {
    const [a, mod, member] = await users(server, 3);
    const channel = await conversationWith(server, a, [[mod, 'moderator'], member], 'channel', 'News');
    const room = await roomOf(member, channel);
    expect(room.room_type).toBe('channel');
    const s = await chatSocket(server, member, room.id);
    s.send({ type: 'send_message', data: { room_id: room.id, message_type: 'text', content: 'member shouts' } });
    await s.next('error');
    const news = await sendMessage(server, a, channel, 'official news');
    const byMember = await api(server, 'DELETE', `/api/chat/messages/${(await chatHistory(server, member, room.id)).messages[0].id}`, { token: member.token });
    expect(byMember.status).toBe(403);
    const byMod = await api(server, 'DELETE', `/api/chat/messages/${(await chatHistory(server, mod, room.id)).messages[0].id}`, { token: mod.token });
    expect(byMod.status).toBe(200);
    const list = await api(server, 'GET', `${P}/conversations/${channel}/messages/`, { token: a.token });
    expect(list.body.count).toBe(1);
    expect(list.body.results[0]).toMatchObject({ id: news.id, is_deleted: true });
  });

  it('a removed participant\'s open sockets (003 and /api/chat) get no further event of the conversation within 1 s', async () => {
    const [a, b, c] = await users(server, 3);
    const conv = await conversationWith(server, a, [b, c]);
    const room = await roomOf(c, conv);
    const s003 = await socket003(server, c, [conv]);
    const sChat = await chatSocket(server, c, room.id);
    const sb = await socket003(server, b, [conv]);

    const before = await sendMessage(server, a, conv, 'before removal');
    expect((await s003.next('new_message')).message.id).toBe(before.id);
    expect((await sChat.next('new_message')).data.uuid).toBe(before.id);

    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/participants/${c.user.uuid}/`, { token: a.token }), 204);
    const count003 = s003.frames.length;
    const countChat = sChat.frames.length;

    // Everything a conversation can produce, after the removal.
    const after = await sendMessage(server, a, conv, 'after removal');
    expectStatus(await api(server, 'PUT', `${P}/conversations/${conv}/messages/${before.id}/`, { token: a.token, json: { content: 'edited after' } }), 200);
    expectStatus(await api(server, 'POST', `${P}/messages/${after.id}/reactions/`, { token: b.token, json: { emoji: '👍' } }), 201);
    sb.send({ type: 'start_typing', conversation_id: conv });
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${after.id}/`, { token: a.token }), 204);
    expectStatus(await api(server, 'PUT', `${P}/conversations/${conv}/`, { token: a.token, json: { title: 'renamed' } }), 200);
    await sb.next('new_message', { where: (f) => f.message.id === after.id });
    await sb.next('conversation_updated');
    await sleep(1000);

    const leaked = (frames: any[]) => frames.filter((f) => !['participant_removed', 'pong', 'presence_update', 'user_status'].includes(f.type));
    expect(leaked(s003.frames.slice(count003))).toEqual([]);
    expect(leaked(sChat.frames.slice(countChat))).toEqual([]);
    // Not readable either, through either dialect.
    expect((await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: c.token })).status).toBe(404);
    expect((await api(server, 'GET', `/api/chat/rooms/${room.id}/messages?page=1&per_page=50`, { token: c.token })).status).toBe(404);
    // Re-joining is refused.
    s003.send({ type: 'join_conversation', conversation_id: conv });
    expect((await s003.next('error')).message).toMatch(/not found/i);
    for (const s of [s003, sChat, sb]) s.close();
  });
});
