// Document 002's room API under /api/v1/chat: search-users, rooms, room detail with
// message_list, paged messages, mark read, unread counts, online users — every request
// and response body as the document shows it.
import { describe, expect, it } from 'vitest';
import { api, eventually, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, expect002Message, expectDetail, expectNoFile, expectRoomShape, expectUserDetails, ISO_MS, room002, roomSocket, sendRoom, textFrame, users } from './support.js';

describe.each(databases)('002 rooms on %s', (db) => {
  const server = useParley({ db });

  it('GET /api/v1/chat/search-users?email= finds users of the tenant by email, never the caller', async () => {
    const tag = `srch${Date.now()}`;
    const [me, john] = await Promise.all([
      users(server, 1).then((u) => u[0]),
      api(server, 'POST', '/api/auth/register', { json: { email: `john.${tag}@example.com`, password: 'password-john', name: 'John Doe' } }),
    ]);
    expect(john.status).toBe(201);
    const johnUser: TestUser = { token: john.body.access_token, user: john.body.user, password: 'password-john' };
    // Someone of another tenant with a matching email is invisible.
    const other = await api(server, 'POST', '/api/auth/register', {
      json: { email: `john2.${tag}@example.com`, password: 'password-john', name: 'John Two', tenant_id: crypto.randomUUID() },
    });
    expect(other.status).toBe(201);

    const res = await api(server, 'GET', `/api/v1/chat/search-users?email=john.${tag}@example.com`, { token: me.token });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    expect(res.body.users).toHaveLength(1);
    expectUserDetails(res.body.users[0], johnUser, false);

    const partial = await api(server, 'GET', `/api/v1/chat/search-users?email=${tag}`, { token: me.token });
    expect(partial.status).toBe(200);
    expect(partial.body.users.map((u: any) => u.id)).toEqual([johnUser.user.id]);
    expect(partial.body.total).toBe(1);

    const self = await api(server, 'GET', `/api/v1/chat/search-users?email=${encodeURIComponent(me.user.email)}`, { token: me.token });
    expect(self.body).toEqual({ users: [], total: 0 });

    // is_online follows a socket of the found user, once the searcher may see their presence
    // (a conversation together: presence is not tenant-wide).
    await roomSocket(server, johnUser);
    const stranger = await api(server, 'GET', `/api/v1/chat/search-users?email=john.${tag}`, { token: me.token });
    expect(stranger.body.users[0].is_online).toBe(false);
    await room002(server, me, johnUser);
    const online = await api(server, 'GET', `/api/v1/chat/search-users?email=john.${tag}`, { token: me.token });
    expect(online.body.users[0].is_online).toBe(true);
  });

  it('POST /api/v1/chat/rooms creates the direct room with other_user, last_message null, unread_count 0; again returns the same room', async () => {
    const [a, b] = await users(server, 2);
    const res = await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
    expect(res.status).toBe(200);
    expectRoomShape(res.body, b);
    expect(res.body).toMatchObject({ name: 'Direct Chat', room_type: 'direct', created_by: a.user.id, is_active: true, last_message: null, unread_count: 0 });
    expectUserDetails(res.body.other_user, b, false);

    const again = await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);
    // From the other side, and through the other room dialect: still the one direct room.
    const back = await api(server, 'POST', '/api/v1/chat/rooms', { token: b.token, json: { receiver_id: a.user.id } });
    expect(back.body.id).toBe(res.body.id);
    expectUserDetails(back.body.other_user, a);
    const viaChat = await api(server, 'POST', '/api/chat/rooms', { token: b.token, json: { receiver_id: a.user.id } });
    expect(viaChat.body.id).toBe(res.body.id);

    expectDetail(await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: a.user.id } }), 400);
    expectDetail(await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: 987654321 } }), 404, 'User not found');
  });

  it('GET /api/v1/chat/rooms lists rooms with last_message and unread_count, and total', async () => {
    const [a, b, c] = await users(server, 3);
    const ab = await room002(server, a, b);
    const ac = await room002(server, a, c);
    const sb = await roomSocket(server, b, ab);
    await sendRoom(sb, undefined, a, 'first');
    const last = await sendRoom(sb, undefined, a, 'Hello there!');
    sb.close();

    const res = await api(server, 'GET', '/api/v1/chat/rooms', { token: a.token });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(2);
    expect(res.body.rooms).toHaveLength(2);
    const rb = res.body.rooms.find((r: any) => r.id === ab);
    const rc = res.body.rooms.find((r: any) => r.id === ac);
    expectRoomShape(rb, b);
    expectRoomShape(rc, c);
    expect(rb.unread_count).toBe(2);
    expect(rb.last_message).toMatchObject({ id: last.data.id, content: 'Hello there!', message_type: 'text', sender_name: b.user.name });
    expect(rb.last_message.created_at).toMatch(ISO_MS);
    // As in the document's example, a room's updated_at follows its last message.
    expect(Date.parse(rb.updated_at)).toBeGreaterThanOrEqual(Date.parse(rb.last_message.created_at));
    expect(rc).toMatchObject({ unread_count: 0, last_message: null });

    // The sender has read its own messages.
    const mine = await api(server, 'GET', '/api/v1/chat/rooms', { token: b.token });
    expect(mine.body.rooms.find((r: any) => r.id === ab).unread_count).toBe(0);
  });

  it('GET /api/v1/chat/rooms/{id} returns the room and message_list with every message, sender and receiver named', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    const sa = await roomSocket(server, alice, room);
    const sj = await roomSocket(server, john, room);
    const m1 = await sendRoom(sa, room, john, 'Hi John!');
    await sj.next('new_message', { where: (f) => f.data.id === m1.data.id });
    const m2 = await sendRoom(sj, room, alice, 'Hello Alice!');
    const m3 = await sendRoom(sj, undefined, alice, 'Hello there!');
    sa.close();
    sj.close();

    const res = await api(server, 'GET', `/api/v1/chat/rooms/${room}`, { token: alice.token });
    expect(res.status).toBe(200);
    expectRoomShape(res.body, john);
    expect(res.body.id).toBe(room);
    expect(res.body.unread_count).toBe(2);
    expect(res.body.last_message).toMatchObject({ id: m3.data.id, content: 'Hello there!', message_type: 'text', sender_name: john.user.name });
    expect(res.body.message_list.total).toBe(3);
    const list = res.body.message_list.messages;
    // As the document shows them: oldest first.
    expect(list.map((m: any) => m.id)).toEqual([m1.data.id, m2.data.id, m3.data.id]);
    expect(list.map((m: any) => m.content)).toEqual(['Hi John!', 'Hello Alice!', 'Hello there!']);
    expect002Message(list[0], alice, john);
    expect002Message(list[1], john, alice);
    expect002Message(list[2], john, alice);
    for (const m of list) {
      expectNoFile(m);
      expect(m).toMatchObject({ room_id: room, message_type: 'text', is_deleted: false });
    }
    // John answered but never marked the room read: Alice's message is not read (only reading
    // marks read, issue 15.8); Alice has read neither of his.
    expect(list[0].is_read).toBe(false);
    expect(list[1].is_read).toBe(false);
    expect(list[2].is_read).toBe(false);

    const missing = await api(server, 'GET', `/api/v1/chat/rooms/987654321`, { token: alice.token });
    expectDetail(missing, 404, 'Room not found');
  });

  it('GET /api/v1/chat/rooms/{id} carries ALL messages of the room in message_list, not a first page', async () => {
    // 002: "Room info + last message summary + ALL messages in one call"; paging is the other endpoint's.
    const N = 60;
    const [a, b] = await users(server, 2);
    const room = await room002(server, a, b);
    const sa = await roomSocket(server, a, room);
    for (let i = 1; i <= N; i++) sa.send(textFrame(room, b.user.id, `n${i}`));
    await eventually(() => expect(sa.all('new_message')).toHaveLength(N), { timeoutMs: 10_000 });
    sa.close();
    const res = await api(server, 'GET', `/api/v1/chat/rooms/${room}`, { token: b.token });
    expect(res.status).toBe(200);
    expect(res.body.message_list.total).toBe(N);
    expect(res.body.message_list.messages.map((m: any) => m.content)).toEqual(Array.from({ length: N }, (_, i) => `n${i + 1}`));
    expect(res.body.unread_count).toBe(N);
  });

  it('GET /api/v1/chat/rooms/{id}/messages?page&per_page pages newest first with total and has_more', async () => {
    const [a, b] = await users(server, 2);
    const room = await room002(server, a, b);
    const sa = await roomSocket(server, a, room);
    const sent = [];
    for (let i = 1; i <= 5; i++) sent.push((await sendRoom(sa, room, b, `m${i}`)).data.id);
    sa.close();

    const p1 = await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages?page=1&per_page=2`, { token: b.token });
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({ total: 5, has_more: true });
    expect(p1.body.messages.map((m: any) => m.content)).toEqual(['m5', 'm4']);
    for (const m of p1.body.messages) {
      expect002Message(m, a, b);
      expectNoFile(m);
      expect(m.is_read).toBe(false);
    }
    const p2 = await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages?page=2&per_page=2`, { token: b.token });
    expect(p2.body).toMatchObject({ total: 5, has_more: true });
    expect(p2.body.messages.map((m: any) => m.content)).toEqual(['m3', 'm2']);
    const p3 = await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages?page=3&per_page=2`, { token: b.token });
    expect(p3.body).toMatchObject({ total: 5, has_more: false });
    expect(p3.body.messages.map((m: any) => m.content)).toEqual(['m1']);
    const beyond = await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages?page=9&per_page=2`, { token: b.token });
    expect(beyond.body).toMatchObject({ messages: [], total: 5, has_more: false });

    // Defaults: page 1, 50 a page.
    const all = await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages`, { token: a.token });
    expect(all.body).toMatchObject({ total: 5, has_more: false });
    expect(all.body.messages.map((m: any) => m.id)).toEqual([...sent].reverse());

    expectDetail(await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages?page=0`, { token: a.token }), 422);
    expectDetail(await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages?per_page=abc`, { token: a.token }), 422);
  });

  it('POST /api/v1/chat/rooms/{id}/read answers as documented and clears unread_count; the sender then sees is_read', async () => {
    const [a, b] = await users(server, 2);
    const room = await room002(server, a, b);
    const sa = await roomSocket(server, a, room);
    await sendRoom(sa, room, b, 'one');
    await sendRoom(sa, room, b, 'two');

    const before = await api(server, 'GET', `/api/v1/chat/rooms/${room}`, { token: b.token });
    expect(before.body.unread_count).toBe(2);

    const res = await api(server, 'POST', `/api/v1/chat/rooms/${room}/read`, { token: b.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: 'Room marked as read' });
    // Twice is fine.
    expect((await api(server, 'POST', `/api/v1/chat/rooms/${room}/read`, { token: b.token })).body).toEqual({ status: 'success', message: 'Room marked as read' });

    const after = await api(server, 'GET', `/api/v1/chat/rooms/${room}`, { token: b.token });
    expect(after.body.unread_count).toBe(0);
    const seenBySender = await api(server, 'GET', `/api/v1/chat/rooms/${room}/messages`, { token: a.token });
    expect(seenBySender.body.messages.map((m: any) => m.is_read)).toEqual([true, true]);
    const counts = await api(server, 'GET', '/api/v1/chat/unread-count', { token: b.token });
    expect(counts.body.unread_counts[String(room)]).toBe(0);
  });

  it('GET /api/v1/chat/unread-count maps each room id to its unread count', async () => {
    const [me, b, c] = await users(server, 3);
    const rb = await room002(server, b, me);
    const rc = await room002(server, c, me);
    const sb = await roomSocket(server, b, rb);
    const sc = await roomSocket(server, c, rc);
    await sendRoom(sb, rb, me, 'x');
    await sendRoom(sb, rb, me, 'y');
    for (let i = 0; i < 5; i++) await sendRoom(sc, rc, me, `z${i}`);
    sb.close();
    sc.close();

    const res = await api(server, 'GET', '/api/v1/chat/unread-count', { token: me.token });
    expect(res.status).toBe(200);
    expect(res.body.unread_counts).toEqual({ [String(rb)]: 2, [String(rc)]: 5 });
    for (const v of Object.values(res.body.unread_counts)) expect(v).toBeTypeOf('number');

    const none = await api(server, 'GET', '/api/v1/chat/unread-count', { token: b.token });
    expect(none.body.unread_counts).toEqual({ [String(rb)]: 0 });
  });

  it('GET /api/v1/chat/online-users lists the online partners with user_id, last_seen and is_online', async () => {
    const [me, b, stranger] = await users(server, 3);
    await room002(server, me, b);
    const empty = await api(server, 'GET', '/api/v1/chat/online-users', { token: me.token });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ online_users: [] });

    const sb = await roomSocket(server, b);
    // Someone who shares no room with the caller is not listed, online or not.
    await roomSocket(server, stranger);
    const res = await api(server, 'GET', '/api/v1/chat/online-users', { token: me.token });
    expect(res.body.online_users).toHaveLength(1);
    expect(res.body.online_users[0]).toMatchObject({ user_id: b.user.id, is_online: true });
    expect(res.body.online_users[0].last_seen).toMatch(ISO_MS);

    sb.close();
    await eventually(async () => {
      const gone = await api(server, 'GET', '/api/v1/chat/online-users', { token: me.token });
      expect(gone.body.online_users).toEqual([]);
    });
  });
});
