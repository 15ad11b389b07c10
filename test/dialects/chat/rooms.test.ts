// Rooms of /api/chat: POST /rooms {receiver_id}, GET /rooms, GET /rooms/{id}, GET /unread-count.
// 000/001 show the requests; the bodies are 002's for the same paths.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, chatSocket, newRoom, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { meAndTwoRooms, connectedPair, ISO_MS, databases, expectDetail, expectMessageShape, expectRoomShape, expectUserDetails, pair, send, users } from './support.js';

describe.each(databases)('/api/chat rooms on %s', (db) => {
  const server = useParley({ db });

  describe('POST /api/chat/rooms', () => {
    it('creates the direct room exactly as documented: 200 and 002\'s room body', async () => {
      const [a, b] = await users(server, 2);
      const res = await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
      expect(res.status).toBe(200);
      expectRoomShape(res.body, b);
      expect(res.body).toMatchObject({ name: 'Direct Chat', room_type: 'direct', created_by: a.user.id, is_active: true, last_message: null, unread_count: 0 });
      expect(res.body.other_user).toEqual({ id: b.user.id, name: b.user.name, email: b.user.email, avatar_url: b.user.avatar_url, is_online: false });
    });

    it('creating it again returns the same room, also when the other user creates it', async () => {
      const [a, b] = await users(server, 2);
      const first = await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
      const again = await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
      const theirs = await api(server, 'POST', '/api/chat/rooms', { token: b.token, json: { receiver_id: a.user.id } });
      expect([first.status, again.status, theirs.status]).toEqual([200, 200, 200]);
      expect(again.body.id).toBe(first.body.id);
      expect(theirs.body.id).toBe(first.body.id);
      // Each side sees the other one as other_user; the creator stays the first one.
      expect(theirs.body.other_user.id).toBe(a.user.id);
      expect(theirs.body.created_by).toBe(a.user.id);
      const list = await api(server, 'GET', '/api/chat/rooms', { token: a.token });
      expect(list.body.rooms.filter((r: any) => r.id === first.body.id)).toHaveLength(1);
    });

    it('two first contacts at the same time still make one room', async () => {
      const [a, b] = await users(server, 2);
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () => api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } })),
        ...Array.from({ length: 4 }, () => api(server, 'POST', '/api/chat/rooms', { token: b.token, json: { receiver_id: a.user.id } })),
      ]);
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    });

    it('a room with yourself, an unknown user, or a user of another tenant is refused', async () => {
      const [a] = await users(server, 1);
      const [stranger] = await users(server, 1, { tenantId: randomUUID() });
      expectDetail(await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: a.user.id } }), 400, 'Cannot create a room with yourself');
      expectDetail(await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: 987654321 } }), 404, 'User not found');
      // Another tenant's user does not exist for a: the same answer as an unknown id.
      expectDetail(await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: stranger.user.id } }), 404, 'User not found');
      const list = await api(server, 'GET', '/api/chat/rooms', { token: a.token });
      expect(list.body).toEqual({ rooms: [], total: 0 });
    });

    it('other_user.is_online is true while the other user has a socket open', async () => {
      const { a, b, room } = await pair(server);
      await chatSocket(server, b, room);
      const res = await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
      expect(res.body.other_user.is_online).toBe(true);
    });
  });

  describe('GET /api/chat/rooms', () => {
    it('answers {rooms, total} with last_message and unread_count per room, most recent first', async () => {
      const { me, x, y, roomX, roomY } = await meAndTwoRooms(server);
      const sx = await chatSocket(server, x, roomX);
      const sy = await chatSocket(server, y, roomY);
      await send(sx, roomX, me, 'x one');
      await send(sx, roomX, me, 'x two');
      await send(sy, roomY, me, 'y one');
      const last = await send(sx, roomX, me, 'x three');

      const res = await api(server, 'GET', '/api/chat/rooms', { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(2);
      expect(res.body.rooms).toHaveLength(2);
      expect(res.body.rooms.map((r: any) => r.id)).toEqual([roomX, roomY]);
      const [rx, ry] = res.body.rooms;
      expectRoomShape(rx, x);
      expectRoomShape(ry, y);
      expect(rx.unread_count).toBe(3);
      expect(ry.unread_count).toBe(1);
      expect(rx.last_message).toMatchObject({ id: last.data.id, content: 'x three', message_type: 'text', sender_name: x.user.name });
      expect(rx.last_message.created_at).toMatch(ISO_MS);
      expect(ry.last_message).toMatchObject({ content: 'y one', sender_name: y.user.name });

      // The sender has read its own messages.
      const theirs = await api(server, 'GET', '/api/chat/rooms', { token: x.token });
      expect(theirs.body).toMatchObject({ total: 1, rooms: [{ id: roomX, unread_count: 0, other_user: { id: me.user.id } }] });
    });

    it('a user with no rooms gets an empty list', async () => {
      const [a] = await users(server, 1);
      const res = await api(server, 'GET', '/api/chat/rooms', { token: a.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ rooms: [], total: 0 });
    });

    it('a room made by someone else is listed for its receiver too', async () => {
      const { a, b, room } = await pair(server);
      const res = await api(server, 'GET', '/api/chat/rooms', { token: b.token });
      expect(res.body.rooms.map((r: any) => r.id)).toEqual([room]);
      expectUserDetails(res.body.rooms[0].other_user, a);
    });
  });

  describe('GET /api/chat/rooms/{room_id}', () => {
    it('answers the room with its message_list (002: sender and receiver of each message, oldest first)', async () => {
      const { a, b, room, sa, sb } = await connectedPair(server);
      const m1 = await send(sa, room, b, 'Hi John!');
      const m2 = await send(sb, room, a, 'Hello Alice!');
      const m3 = await send(sb, room, a, 'Hello there!');

      const res = await api(server, 'GET', `/api/chat/rooms/${room}`, { token: a.token });
      expect(res.status).toBe(200);
      expectRoomShape(res.body, b);
      expect(res.body).toMatchObject({ id: room, unread_count: 2, last_message: { id: m3.data.id, content: 'Hello there!', sender_name: b.user.name } });
      const list = res.body.message_list;
      expect(list.total).toBe(3);
      expect(list.messages.map((m: any) => m.id)).toEqual([m1.data.id, m2.data.id, m3.data.id]);
      for (const m of list.messages) {
        expectMessageShape(m);
        expect(m.room_id).toBe(room);
      }
      expect(list.messages[0]).toMatchObject({
        sender_id: a.user.id,
        receiver_id: b.user.id,
        sender_name: a.user.name,
        receiver_name: b.user.name,
        sender_avatar: a.user.avatar_url,
        receiver_avatar: b.user.avatar_url,
        message_type: 'text',
        content: 'Hi John!',
        file_name: null,
        file_path: null,
        file_size: null,
        mime_type: null,
        is_deleted: false,
        is_sender: true,
      });
      expect(list.messages[1]).toMatchObject({ sender_id: b.user.id, receiver_id: a.user.id, sender_name: b.user.name, receiver_name: a.user.name, content: 'Hello Alice!', is_sender: false });
      // b answered without marking the room read: answering reads nothing (issue 15.8), so
      // nobody has read anything yet.
      expect(list.messages.map((m: any) => m.is_read)).toEqual([false, false, false]);
    });

    it('an empty room has an empty message_list and last_message null', async () => {
      const { a, room } = await pair(server);
      const res = await api(server, 'GET', `/api/chat/rooms/${room}`, { token: a.token });
      expect(res.status).toBe(200);
      expect(res.body.last_message).toBeNull();
      expect(res.body.message_list).toMatchObject({ messages: [], total: 0 });
    });

    it('a room the user is not in, and one that does not exist, are the same 404 "Room not found"', async () => {
      const { room } = await pair(server);
      const [outsider] = await users(server, 1);
      const foreign = await api(server, 'GET', `/api/chat/rooms/${room}`, { token: outsider.token });
      const missing = await api(server, 'GET', `/api/chat/rooms/987654321`, { token: outsider.token });
      expectDetail(foreign, 404, 'Room not found');
      expect(missing).toMatchObject({ status: foreign.status, body: foreign.body });
    });
  });

  describe('GET /api/chat/unread-count', () => {
    it('answers 002\'s {"unread_counts": {"<room_id>": n}} for every room of the user', async () => {
      const [me, x, y] = await users(server, 3);
      const roomX = await newRoom(server, x, me);
      const roomY = await newRoom(server, me, y);
      const sx = await chatSocket(server, x, roomX);
      await send(sx, roomX, me, 'one');
      await send(sx, roomX, me, 'two');

      const res = await api(server, 'GET', '/api/chat/unread-count', { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.unread_counts).toEqual({ [String(roomX)]: 2, [String(roomY)]: 0 });
      for (const v of Object.values(res.body.unread_counts)) expect(v).toBeTypeOf('number');

      const sender = await api(server, 'GET', '/api/chat/unread-count', { token: x.token });
      expect(sender.body.unread_counts).toEqual({ [String(roomX)]: 0 });

      await api(server, 'POST', `/api/chat/rooms/${roomX}/read`, { token: me.token });
      const after = await api(server, 'GET', '/api/chat/unread-count', { token: me.token });
      expect(after.body.unread_counts).toEqual({ [String(roomX)]: 0, [String(roomY)]: 0 });
    });

    it('a user with no rooms has no counts', async () => {
      const [a]: TestUser[] = await users(server, 1);
      const res = await api(server, 'GET', '/api/chat/unread-count', { token: a.token });
      expect(res.status).toBe(200);
      expect(res.body.unread_counts).toEqual({});
    });
  });
});
