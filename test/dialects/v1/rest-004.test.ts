// Document 004's REST API: send, history (skip/limit, newest first), mark read, delete
// (sender only, soft), unread count and online friends — bodies exactly as documented.
import { describe, expect, it } from 'vitest';
import { api, eventually } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, expect004Message, expectDetail, friends, friendSocket, history004, ISO_MS, roomSocket, send004, users } from './support.js';

describe.each(databases)('004 REST on %s', (db) => {
  const server = useParley({ db });

  it('POST /api/v1/chat/messages/ answers 200 with the documented message: UUIDs, status sent, read_at null, sender and receiver', async () => {
    const [a, b] = await friends(server);
    const res = await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: b.user.uuid, content: 'Message content' } });
    expect(res.status).toBe(200);
    const m = res.body;
    expect004Message(m, a, b);
    expect(m).toMatchObject({ content: 'Message content', status: 'sent', is_deleted: false, read_at: null });
    expect(m.created_at).toBe(m.updated_at);
    for (const k of ['message_id', 'sender_id', 'receiver_id', 'content', 'status', 'is_deleted', 'created_at', 'updated_at', 'read_at', 'sender', 'receiver']) {
      expect(m).toHaveProperty(k);
    }
    for (const side of [m.sender, m.receiver]) for (const k of ['account_id', 'username', 'full_name', 'avatar']) expect(side).toHaveProperty(k);

    // Stored: the receiver's history has it, with the same id.
    const h = await history004(server, b, a);
    expect(h.messages.map((x) => x.message_id)).toEqual([m.message_id]);

    // A receiver online on the socket gets a REST send as new_message, delivered.
    const sb = await friendSocket(server, b);
    const again = await send004(server, a, b, 'while you are online');
    const got = await sb.next('new_message');
    expect(got.message).toMatchObject({ message_id: again.message_id, content: 'while you are online', status: 'delivered', sender_id: a.user.uuid });
  });

  it('GET …/history/{friend_id}?skip=&limit= is newest first with total, skip and limit; limit over 100 is 422; skip beyond the end is empty', async () => {
    const [a, b] = await friends(server);
    const sent: any[] = [];
    for (let i = 1; i <= 5; i++) sent.push(await send004(server, i % 2 ? a : b, i % 2 ? b : a, `m${i}`));

    const all = await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}?skip=0&limit=50`, { token: a.token });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 5, skip: 0, limit: 50 });
    expect(all.body.messages.map((m: any) => m.content)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
    all.body.messages.forEach((m: any, i: number) => {
      const n = 5 - i;
      if (n % 2) expect004Message(m, a, b);
      else expect004Message(m, b, a);
      expect(m.message_id).toBe(sent[n - 1].message_id);
    });
    // Both sides see the same conversation.
    expect((await history004(server, b, a)).messages.map((m) => m.message_id)).toEqual(all.body.messages.map((m: any) => m.message_id));

    const page = await history004(server, a, b, 1, 2);
    expect(page).toMatchObject({ total: 5, skip: 1, limit: 2 });
    expect(page.messages.map((m) => m.content)).toEqual(['m4', 'm3']);
    const tail = await history004(server, a, b, 4, 2);
    expect(tail.messages.map((m) => m.content)).toEqual(['m1']);
    const beyond = await history004(server, a, b, 5, 10);
    expect(beyond).toEqual({ messages: [], total: 5, skip: 5, limit: 10 });
    expect((await history004(server, a, b, 500, 10)).messages).toEqual([]);

    const defaults = await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}`, { token: a.token });
    expect(defaults.body).toMatchObject({ total: 5, skip: 0, limit: 50 });
    expect(defaults.body.messages).toHaveLength(5);
    const max = await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}?limit=100`, { token: a.token });
    expect(max.status).toBe(200);

    expectDetail(await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}?limit=101`, { token: a.token }), 422);
    expectDetail(await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}?limit=0`, { token: a.token }), 422);
    expectDetail(await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}?skip=-1`, { token: a.token }), 422);
    expectDetail(await api(server, 'GET', `/api/v1/chat/messages/history/${b.user.uuid}?skip=abc`, { token: a.token }), 422);

    // Someone never written to: an empty history.
    const [c] = await users(server, 1);
    expect(await history004(server, a, c)).toEqual({ messages: [], total: 0, skip: 0, limit: 100 });
  });

  it('PUT …/messages/{uuid}/read answers the updated message with status read and read_at; earlier ones are read too, later ones not', async () => {
    const [a, b] = await friends(server);
    const m1 = await send004(server, a, b, 'one');
    const m2 = await send004(server, a, b, 'two');
    const m3 = await send004(server, a, b, 'three');
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 3 });

    const res = await api(server, 'PUT', `/api/v1/chat/messages/${m2.message_id}/read`, { token: b.token });
    expect(res.status).toBe(200);
    expect004Message(res.body, a, b);
    expect(res.body).toMatchObject({ message_id: m2.message_id, content: 'two', status: 'read' });
    expect(res.body.read_at).toMatch(ISO_MS);

    const h = await history004(server, a, b);
    const byId = new Map(h.messages.map((m) => [m.message_id, m]));
    expect(byId.get(m1.message_id)).toMatchObject({ status: 'read' });
    expect(byId.get(m2.message_id)).toMatchObject({ status: 'read', read_at: res.body.read_at });
    expect(byId.get(m3.message_id)).toMatchObject({ status: 'sent', read_at: null });
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 1 });

    // Marking an older one again does not move the watermark back.
    await api(server, 'PUT', `/api/v1/chat/messages/${m1.message_id}/read`, { token: b.token });
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 1 });
    // The sender "reading" its own message changes nothing.
    const own = await api(server, 'PUT', `/api/v1/chat/messages/${m3.message_id}/read`, { token: a.token });
    expect(own.status).toBe(200);
    expect(own.body.status).toBe('sent');
    // A client that sends Content-Type: application/json with no body is served.
    const empty = await api(server, 'PUT', `/api/v1/chat/messages/${m3.message_id}/read`, { token: b.token, headers: { 'content-type': 'application/json' } });
    expect({ status: empty.status, s: empty.body.status }).toEqual({ status: 200, s: 'read' });
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 0 });

    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${crypto.randomUUID()}/read`, { token: b.token }), 404, 'Message not found');
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/not-a-uuid/read`, { token: b.token }), 422);
  });

  it('DELETE …/messages/{uuid}: only the sender (403 for the receiver, 404 for an outsider), soft: is_deleted in history, total unchanged', async () => {
    const [a, b] = await friends(server);
    const [outsider] = await users(server, 1);
    const keep = await send004(server, a, b, 'keep');
    const gone = await send004(server, a, b, 'secret text');

    expectDetail(await api(server, 'DELETE', `/api/v1/chat/messages/${gone.message_id}`, { token: b.token }), 403);
    expectDetail(await api(server, 'DELETE', `/api/v1/chat/messages/${gone.message_id}`, { token: outsider.token }), 404, 'Message not found');
    expectDetail(await api(server, 'DELETE', `/api/v1/chat/messages/${crypto.randomUUID()}`, { token: a.token }), 404, 'Message not found');
    expect((await history004(server, b, a)).messages.map((m) => m.is_deleted)).toEqual([false, false]);

    const res = await api(server, 'DELETE', `/api/v1/chat/messages/${gone.message_id}`, { token: a.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', message: 'Message deleted' });

    for (const viewer of [a, b]) {
      const h = await history004(server, viewer, viewer === a ? b : a);
      expect(h.total).toBe(2);
      const tomb = h.messages.find((m) => m.message_id === gone.message_id);
      expect(tomb).toMatchObject({ is_deleted: true, sender_id: a.user.uuid });
      expect(tomb.content).not.toContain('secret text');
      expect(Date.parse(tomb.updated_at)).toBeGreaterThanOrEqual(Date.parse(tomb.created_at));
      expect(h.messages.find((m) => m.message_id === keep.message_id)).toMatchObject({ is_deleted: false, content: 'keep' });
    }
    expectDetail(await api(server, 'DELETE', `/api/v1/chat/messages/not-a-uuid`, { token: a.token }), 422);
  });

  it('GET /api/v1/chat/messages/unread-count answers {"unread_count": n} over all of the user\'s direct messages', async () => {
    const [me, b] = await friends(server);
    const [c] = await users(server, 1);
    await api(server, 'POST', '/api/friends', { token: c.token, json: { user_id: me.user.uuid } });
    await api(server, 'POST', '/api/friends', { token: me.token, json: { user_id: c.user.uuid } });
    const zero = await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: me.token });
    expect(zero.status).toBe(200);
    expect(zero.body).toEqual({ unread_count: 0 });
    await send004(server, b, me, '1');
    await send004(server, b, me, '2');
    await send004(server, c, me, '3');
    await send004(server, me, b, 'mine: not unread');
    // My reply read everything before it in that conversation (DESIGN.md: sending reads up to one's own message).
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: me.token })).body).toEqual({ unread_count: 1 });
    await send004(server, b, me, '4');
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: me.token })).body).toEqual({ unread_count: 2 });
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: b.token })).body).toEqual({ unread_count: 0 });
  });

  it('GET /api/v1/chat/friends/online lists the accepted friends who are connected, as UUIDs', async () => {
    const [me, friend] = await friends(server);
    const [pending, stranger] = await users(server, 2);
    await api(server, 'POST', '/api/friends', { token: me.token, json: { user_id: pending.user.uuid } });
    const empty = await api(server, 'GET', '/api/v1/chat/friends/online', { token: me.token });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ online_friends: [] });

    const sf = await friendSocket(server, friend);
    await friendSocket(server, pending);
    // Any socket counts as online, 002's too; strangers are never listed.
    await roomSocket(server, stranger);
    const res = await api(server, 'GET', '/api/v1/chat/friends/online', { token: me.token });
    expect(res.body).toEqual({ online_friends: [friend.user.uuid] });

    sf.close();
    await eventually(async () => {
      expect((await api(server, 'GET', '/api/v1/chat/friends/online', { token: me.token })).body).toEqual({ online_friends: [] });
    });
  });
});
