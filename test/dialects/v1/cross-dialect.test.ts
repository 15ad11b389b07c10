// One core under every dialect (DESIGN.md): a message sent through /api/chat is in 004's
// history and on a 004 socket; one sent through 004 is in /api/chat's and 002's histories
// and on their room sockets; the one DELETE /api/v1/chat/messages/{id} soft-deletes by an
// integer id (002) or a UUID (004) the same row every dialect shows.
import { describe, expect, it } from 'vitest';
import { api, chatHistory, chatSocket, newRoom } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, friends, friendSocket, history002, history004, roomSocket, send004, sendRoom, settle, tempId, textFrame } from './support.js';

describe.each(databases)('cross-dialect visibility on %s', (db) => {
  const server = useParley({ db });

  it('a message sent on an /api/chat room socket is in the 004 history and on the friend\'s 004 socket', async () => {
    const [a, b] = await friends(server);
    const room = await newRoom(server, a, b);
    const sb = await friendSocket(server, b);
    const sa = await chatSocket(server, a, room);
    const tid = tempId();
    sa.send(textFrame(room, b.user.id, 'from /api/chat', { local_temp_id: tid }));
    const own = await sa.next('new_message', { where: (f) => f.data.local_temp_id === tid });

    const got = await sb.next('new_message');
    expect(got.message).toMatchObject({ sender_id: a.user.uuid, receiver_id: b.user.uuid, content: 'from /api/chat', status: 'delivered' });
    expect(got.message.sender.account_id).toBe(a.user.uuid);
    expect(got.message.message_id).toBe(own.data.uuid);

    for (const [viewer, other] of [
      [a, b],
      [b, a],
    ]) {
      const h = await history004(server, viewer, other);
      expect(h.total).toBe(1);
      expect(h.messages[0]).toMatchObject({ message_id: own.data.uuid, content: 'from /api/chat', sender_id: a.user.uuid, receiver_id: b.user.uuid });
    }
    // And 004's read reaches the /api/chat sender as its read receipt.
    sb.send({ type: 'mark_read', message_id: own.data.uuid });
    const read = await sa.next('message_read');
    expect(read.data).toMatchObject({ room_id: room, user_id: b.user.id });
    expect((await chatHistory(server, a, room)).messages[0].is_read).toBe(true);
  });

  it('a message sent through 004 (REST and socket) is in the /api/chat and 002 histories and on their room sockets', async () => {
    const [a, b] = await friends(server);
    const room = await newRoom(server, b, a);
    const chatB = await chatSocket(server, b, room);
    const roomsB = await roomSocket(server, b, room);
    const sa = await friendSocket(server, a);

    const viaRest = await send004(server, a, b, 'via 004 REST');
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'via 004 socket' });
    const ack = await sa.next('message_sent');

    for (const sock of [chatB, roomsB]) {
      const one = await sock.next('new_message', { where: (f) => f.data.content === 'via 004 REST' });
      const two = await sock.next('new_message', { where: (f) => f.data.content === 'via 004 socket' });
      for (const f of [one, two]) expect(f.data).toMatchObject({ room_id: room, sender_id: a.user.id, receiver_id: b.user.id, sender_name: a.user.name, message_type: 'text' });
      expect(one.data.uuid).toBe(viaRest.message_id);
      expect(two.data.uuid).toBe(ack.message_id);
      expect(two.data.id).toBeGreaterThan(one.data.id);
    }

    const chat = await chatHistory(server, b, room);
    const rooms = await history002(server, b, room);
    expect(chat.total).toBe(2);
    expect(rooms.total).toBe(2);
    expect(chat.messages.map((m) => m.content)).toEqual(['via 004 REST', 'via 004 socket']);
    expect(rooms.messages.map((m) => m.content)).toEqual(['via 004 socket', 'via 004 REST']);
    expect(rooms.messages.map((m) => m.uuid)).toEqual([ack.message_id, viaRest.message_id]);
    // 002's room view counts them unread until read through any dialect.
    const detail = await api(server, 'GET', `/api/v1/chat/rooms/${room}`, { token: b.token });
    expect(detail.body.unread_count).toBe(2);
    expect(detail.body.last_message).toMatchObject({ content: 'via 004 socket', sender_name: a.user.name });
  });

  it('an edit through 002 is what 004\'s history shows', async () => {
    const [a, b] = await friends(server);
    const m = await send004(server, a, b, 'typo');
    const h002 = await history002(server, a, (await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } })).body.id);
    const id = h002.messages.find((x) => x.uuid === m.message_id).id;
    const res = await api(server, 'PUT', `/api/v1/chat/messages/${id}`, { token: a.token, form: { content: 'fixed' } });
    expect(res.status).toBe(200);
    const h = await history004(server, b, a);
    expect(h.messages[0]).toMatchObject({ message_id: m.message_id, content: 'fixed' });
    expect(Date.parse(h.messages[0].updated_at)).toBeGreaterThanOrEqual(Date.parse(h.messages[0].created_at));
  });

  it('DELETE /api/v1/chat/messages/{id}: an integer id (002) and a UUID (004) soft-delete the same kind of row, whichever dialect sent it', async () => {
    const [a, b] = await friends(server);
    const room = await newRoom(server, a, b);
    const sa = await roomSocket(server, a, room);
    const sb = await roomSocket(server, b, room);
    const fromRooms1 = (await sendRoom(sa, room, b, 'rooms: by integer')).data;
    const fromRooms2 = (await sendRoom(sa, room, b, 'rooms: by uuid')).data;
    const from004a = await send004(server, a, b, '004: by integer');
    const from004b = await send004(server, a, b, '004: by uuid');
    const keep = await send004(server, a, b, 'kept');
    const ids = new Map((await history002(server, a, room)).messages.map((m) => [m.content, m.id]));

    const targets = [String(fromRooms1.id), fromRooms2.uuid, String(ids.get('004: by integer')), from004b.message_id];
    for (const id of targets) {
      const res = await api(server, 'DELETE', `/api/v1/chat/messages/${id}`, { token: a.token });
      expect({ id, status: res.status, body: res.body }).toEqual({ id, status: 200, body: { status: 'success', message: 'Message deleted' } });
    }

    const deleted = ['rooms: by integer', 'rooms: by uuid', '004: by integer', '004: by uuid'];
    const h004 = await history004(server, b, a);
    expect(h004.total).toBe(5);
    const h002 = await history002(server, b, room);
    const hChat = await chatHistory(server, b, room);
    for (const h of [h004.messages, h002.messages, hChat.messages]) {
      expect(h).toHaveLength(5);
      const flags = h.filter((m: any) => m.is_deleted);
      expect(flags).toHaveLength(4);
      for (const m of h) for (const text of deleted) expect(m.content ?? '').not.toBe(text);
      expect(h.filter((m: any) => !m.is_deleted).map((m: any) => m.content)).toEqual(['kept']);
    }
    expect(h004.messages.find((m) => m.message_id === keep.message_id).is_deleted).toBe(false);
    expect(h004.messages.find((m) => m.message_id === from004a.message_id).is_deleted).toBe(true);
    // The room sockets were told of each delete.
    for (const id of [fromRooms1.id, fromRooms2.id, ids.get('004: by integer'), ids.get('004: by uuid')]) {
      expect((await sb.next('message_updated', { where: (f) => f.data.id === id })).data.is_deleted).toBe(true);
    }
    // /api/chat's own DELETE is the same soft delete, and a tombstone can be deleted again by either id.
    expect((await api(server, 'DELETE', `/api/chat/messages/${ids.get('kept')}`, { token: a.token })).status).toBe(200);
    expect((await history004(server, a, b)).messages.every((m) => m.is_deleted)).toBe(true);
    expect((await api(server, 'DELETE', `/api/v1/chat/messages/${keep.message_id}`, { token: a.token })).status).toBe(200);
    await settle(sa);
  });
});
