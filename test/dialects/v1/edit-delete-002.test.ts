// Document 002's PUT /api/v1/chat/messages/{id} (form-encoded, only the sender's text
// messages) with its `message_updated` frame, and DELETE with an integer id.
import { describe, expect, it } from 'vitest';
import { api, sleep } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, expect002Message, expectDetail, expectNoFile, history002, ISO_MS, room002, roomSocket, sendRoom, settle, users } from './support.js';

describe.each(databases)('002 edit and delete on %s', (db) => {
  const server = useParley({ db });

  it('PUT form-encoded edits the text: the documented body with is_edited and updated_at, and message_updated in the room', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    const sa = await roomSocket(server, alice, room);
    const sj = await roomSocket(server, john, room);
    const sent = await sendRoom(sa, room, john, 'Hello there!');
    await sj.next('new_message');
    await sleep(5); // updated_at must be able to differ from created_at

    const res = await api(server, 'PUT', `/api/v1/chat/messages/${sent.data.id}`, { token: alice.token, form: { content: 'Updated message content' } });
    expect(res.status).toBe(200);
    const m = res.body;
    expect002Message(m, alice, john);
    expectNoFile(m);
    expect(m).toMatchObject({ id: sent.data.id, room_id: room, message_type: 'text', content: 'Updated message content', is_edited: true, is_deleted: false });
    expect(m.created_at).toBe(sent.data.created_at);
    expect(m.updated_at).toMatch(ISO_MS);
    expect(Date.parse(m.updated_at)).toBeGreaterThan(Date.parse(m.created_at));
    expect(m.is_read).toBeTypeOf('boolean');

    for (const s of [sa, sj]) {
      const f = await s.next('message_updated');
      expect(f.data).toMatchObject({
        id: sent.data.id,
        room_id: room,
        sender_id: alice.user.id,
        receiver_id: john.user.id,
        sender_name: alice.user.name,
        receiver_name: john.user.name,
        message_type: 'text',
        content: 'Updated message content',
        created_at: m.created_at,
        updated_at: m.updated_at,
        is_edited: true,
      });
      expect(f.data).toHaveProperty('sender_avatar');
      expect(f.data).toHaveProperty('receiver_avatar');
    }
    // 001's frame name is /api/chat's, not 002's.
    expect(sj.all('message_update')).toEqual([]);

    // The edit is what every reader sees afterwards.
    const h = await history002(server, john, room);
    expect(h.messages[0]).toMatchObject({ id: sent.data.id, content: 'Updated message content', is_edited: true });
    // JSON works too.
    const json = await api(server, 'PUT', `/api/v1/chat/messages/${sent.data.id}`, { token: alice.token, json: { content: 'again' } });
    expect(json.body).toMatchObject({ content: 'again', is_edited: true });
  });

  it('PUT is the sender\'s own: the receiver gets 403, an outsider 404, a deleted message 400, an empty text 4xx', async () => {
    const [a, b, outsider] = await users(server, 3);
    const room = await room002(server, a, b);
    const sa = await roomSocket(server, a, room);
    const sent = await sendRoom(sa, room, b, 'mine');
    const sb = await roomSocket(server, b, room);

    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${sent.data.id}`, { token: b.token, form: { content: 'hijack' } }), 403);
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${sent.data.id}`, { token: outsider.token, form: { content: 'hijack' } }), 404, 'Message not found');
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/987654321`, { token: a.token, form: { content: 'x' } }), 404, 'Message not found');
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${sent.data.id}`, { token: a.token, form: { content: '   ' } }), 400);
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${sent.data.id}`, { token: a.token, form: {} }), 422);
    // Nothing changed, nobody was told.
    await settle(sb);
    expect(sb.all('message_updated')).toEqual([]);
    expect((await history002(server, b, room)).messages[0]).toMatchObject({ content: 'mine', is_edited: false });

    expect((await api(server, 'DELETE', `/api/v1/chat/messages/${sent.data.id}`, { token: a.token })).status).toBe(200);
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${sent.data.id}`, { token: a.token, form: { content: 'revive' } }), 400);
  });

  it('DELETE /api/v1/chat/messages/{integer id} soft-deletes the sender\'s message as documented', async () => {
    const [alice, john] = await users(server, 2);
    const room = await room002(server, alice, john);
    const sa = await roomSocket(server, alice, room);
    const sj = await roomSocket(server, john, room);
    const keep = await sendRoom(sa, room, john, 'keep me');
    const gone = await sendRoom(sa, room, john, 'delete me');

    expectDetail(await api(server, 'DELETE', `/api/v1/chat/messages/${gone.data.id}`, { token: john.token }), 403);
    const res = await api(server, 'DELETE', `/api/v1/chat/messages/${gone.data.id}`, { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', message: 'Message deleted' });

    // The room is told (as an update showing is_deleted), and the row stays as a tombstone.
    const f = await sj.next('message_updated', { where: (x) => x.data.id === gone.data.id });
    expect(f.data.is_deleted).toBe(true);
    expect(f.data.content ?? '').not.toContain('delete me');
    const h = await history002(server, john, room);
    expect(h.total).toBe(2);
    const tomb = h.messages.find((m) => m.id === gone.data.id);
    expect(tomb.is_deleted).toBe(true);
    expect(tomb.content ?? '').not.toContain('delete me');
    expect(h.messages.find((m) => m.id === keep.data.id)).toMatchObject({ content: 'keep me', is_deleted: false });
    const detail = await api(server, 'GET', `/api/v1/chat/rooms/${room}`, { token: alice.token });
    expect(detail.body.message_list.messages.find((m: any) => m.id === gone.data.id).is_deleted).toBe(true);

    // Deleting again changes nothing; an unknown id is 404.
    expect((await api(server, 'DELETE', `/api/v1/chat/messages/${gone.data.id}`, { token: alice.token })).status).toBe(200);
    expectDetail(await api(server, 'DELETE', `/api/v1/chat/messages/987654321`, { token: alice.token }), 404, 'Message not found');
  });

  it('DELETE and POST …/read are served to a client that sends Content-Type: application/json with no body (as on /api/chat)', async () => {
    const [a, b] = await users(server, 2);
    const room = await room002(server, a, b);
    const sa = await roomSocket(server, a, room);
    const sent = await sendRoom(sa, room, b, 'bye');
    sa.close();
    const headers = { 'content-type': 'application/json' };
    const read = await api(server, 'POST', `/api/v1/chat/rooms/${room}/read`, { token: b.token, headers });
    expect(read.body).toEqual({ status: 'success', message: 'Room marked as read' });
    const del = await api(server, 'DELETE', `/api/v1/chat/messages/${sent.data.id}`, { token: a.token, headers });
    expect({ status: del.status, body: del.body }).toEqual({ status: 200, body: { status: 'success', message: 'Message deleted' } });
  });
});
