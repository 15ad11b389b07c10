// PUT /api/chat/messages/{id} (form-encoded content=…), DELETE /api/chat/messages/{id} (soft),
// and Parley's like extension POST /api/chat/messages/{id}/like (001 shows is_liked, like_count).
import { describe, expect, it } from 'vitest';
import { api, chatSocket } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { connectedPair, ISO_MS, chatHistory, databases, expectDetail, expectMessageShape, expectNoFiles, pair, send, settle, users } from './support.js';

describe.each(databases)('/api/chat edit, delete and like on %s', (db) => {
  const server = useParley({ db });

  describe('PUT /api/chat/messages/{message_id}', () => {
    it('form-encoded content=… as documented: the updated message, is_edited, and message_update on the sockets', async () => {
      const { a, b, room, sa, sb } = await connectedPair(server);
      const sent = await send(sa, room, b, 'Hello!');
      await sb.next('new_message');

      const res = await api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: a.token, form: { content: 'Updated message text' } });
      expect(res.status).toBe(200);
      expectMessageShape(res.body);
      expectNoFiles(res.body);
      expect(res.body).toMatchObject({
        id: sent.data.id,
        room_id: room,
        sender_id: a.user.id,
        receiver_id: b.user.id,
        content: 'Updated message text',
        message_type: 'text',
        is_edited: true,
        is_deleted: false,
        is_sender: true,
        local_temp_id: null,
        created_at: sent.data.created_at,
      });
      expect(res.body.updated_at).toMatch(ISO_MS);
      expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(res.body.created_at));

      // 001: message_update, local_temp_id always null there.
      const upd = await sb.next('message_update');
      expectMessageShape(upd.data);
      expect(upd.data).toMatchObject({ id: sent.data.id, content: 'Updated message text', is_edited: true, local_temp_id: null, files_data: null, is_sender: false });
      expect(upd.data.sender_details).toMatchObject({ id: a.user.id });
      expect(upd.data.receiver_details).toMatchObject({ id: b.user.id });
      expect((await sa.next('message_update')).data).toMatchObject({ id: sent.data.id, is_sender: true });

      const history = await chatHistory(server, b, room);
      expect(history.total).toBe(1);
      expect(history.messages[0]).toMatchObject({ id: sent.data.id, content: 'Updated message text', is_edited: true });
    });

    it('form encoding round-trips any text: +, &, =, newlines, accents, emoji', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'plain');
      const text = 'a+b & c=d%20\nline two ünïcødé 😀 <b>not html</b>';
      const res = await api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: a.token, form: { content: text } });
      expect(res.status).toBe(200);
      expect(res.body.content).toBe(text);
      expect((await chatHistory(server, b, room)).messages[0].content).toBe(text);
    });

    it('a JSON body {"content": …} works too', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'before');
      const res = await api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: a.token, json: { content: 'after' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: sent.data.id, content: 'after', is_edited: true });
    });

    it('only the sender edits: the other participant gets 403, an outsider 404 "Message not found"; nothing changes', async () => {
      const { a, b, room } = await pair(server);
      const [outsider] = await users(server, 1);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'mine');
      expectDetail(await api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: b.token, form: { content: 'hijack' } }), 403);
      expectDetail(await api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: outsider.token, form: { content: 'hijack' } }), 404, 'Message not found');
      expectDetail(await api(server, 'PUT', `/api/chat/messages/987654321`, { token: a.token, form: { content: 'x' } }), 404, 'Message not found');
      const history = await chatHistory(server, a, room);
      expect(history.messages.map((m) => [m.content, m.is_edited])).toEqual([['mine', false]]);
    });

    it('content is checked like a send: empty refused, 5000 characters fine, 5001 refused, a NUL refused', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'short');
      const put = (content: string) => api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: a.token, form: { content } });
      expectDetail(await put(''), 400, 'Message content is required');
      expectDetail(await put('   '), 400, 'Message content is required');
      expectDetail(await put('x'.repeat(5001)), 400, /Message too long/);
      expectDetail(await put('a\u0000b'), 400, 'Message content cannot contain the NUL character (U+0000)');
      expect((await chatHistory(server, a, room)).messages[0]).toMatchObject({ content: 'short', is_edited: false });
      const ok = await put('y'.repeat(5000));
      expect(ok.status).toBe(200);
      expect(ok.body.content).toHaveLength(5000);
    });
  });

  describe('DELETE /api/chat/messages/{message_id}', () => {
    it('soft-deletes as documented: {"status":"success","message":"Message deleted"}, is_deleted, content hidden, total unchanged', async () => {
      const { a, b, room, sa, sb } = await connectedPair(server);
      const keep = await send(sa, room, b, 'keep me');
      const gone = await send(sa, room, b, 'secret words');

      const res = await api(server, 'DELETE', `/api/chat/messages/${gone.data.id}`, { token: a.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'success', message: 'Message deleted' });

      const upd = await sb.next('message_update', { where: (f) => f.data.id === gone.data.id });
      expect(upd.data).toMatchObject({ id: gone.data.id, is_deleted: true });
      expect(JSON.stringify(upd.data)).not.toContain('secret words');

      for (const viewer of [a, b]) {
        const history = await chatHistory(server, viewer, room);
        expect(history.total).toBe(2);
        expect(history.messages.map((m) => m.id)).toEqual([keep.data.id, gone.data.id]);
        const tomb = history.messages[1];
        expectMessageShape(tomb);
        expect(tomb.is_deleted).toBe(true);
        expect(tomb.content).toBeNull();
        expect(JSON.stringify(history.messages)).not.toContain('secret words');
        expect(history.messages[0]).toMatchObject({ content: 'keep me', is_deleted: false });
      }
      // Nor in the room list or the room detail.
      const rooms = await api(server, 'GET', '/api/chat/rooms', { token: b.token });
      expect(JSON.stringify(rooms.body)).not.toContain('secret words');
      const detail = await api(server, 'GET', `/api/chat/rooms/${room}`, { token: b.token });
      expect(JSON.stringify(detail.body)).not.toContain('secret words');
      expect(detail.body.message_list.total).toBe(2);
    });

    it('only the sender deletes: 403 for the other participant, 404 for an outsider or an unknown id; the message stays', async () => {
      const { a, b, room } = await pair(server);
      const [outsider] = await users(server, 1);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'still here');
      expectDetail(await api(server, 'DELETE', `/api/chat/messages/${sent.data.id}`, { token: b.token }), 403);
      expectDetail(await api(server, 'DELETE', `/api/chat/messages/${sent.data.id}`, { token: outsider.token }), 404, 'Message not found');
      expectDetail(await api(server, 'DELETE', `/api/chat/messages/987654321`, { token: a.token }), 404, 'Message not found');
      expect((await chatHistory(server, a, room)).messages).toMatchObject([{ content: 'still here', is_deleted: false }]);
    });

    it('deleting twice is harmless, and a deleted message can no longer be edited or liked', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'bye');
      expect((await api(server, 'DELETE', `/api/chat/messages/${sent.data.id}`, { token: a.token })).status).toBe(200);
      const again = await api(server, 'DELETE', `/api/chat/messages/${sent.data.id}`, { token: a.token });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ status: 'success', message: 'Message deleted' });
      expectDetail(await api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: a.token, form: { content: 'back' } }), 400, 'Message has been deleted');
      expectDetail(await api(server, 'POST', `/api/chat/messages/${sent.data.id}/like`, { token: b.token }), 400, 'Message has been deleted');
      const history = await chatHistory(server, a, room);
      expect(history.total).toBe(1);
      expect(history.messages[0]).toMatchObject({ is_deleted: true, content: null, like_count: 0 });
    });
  });

  describe('POST /api/chat/messages/{message_id}/like (Parley extension)', () => {
    it('toggles the viewer\'s like: like_count counts everyone, is_liked is per viewer, sockets get message_update', async () => {
      const { a, b, room, sa, sb } = await connectedPair(server);
      const sent = await send(sa, room, b, 'like me');
      const url = `/api/chat/messages/${sent.data.id}/like`;

      const byB = await api(server, 'POST', url, { token: b.token });
      expect(byB.status).toBe(200);
      expectMessageShape(byB.body);
      expect(byB.body).toMatchObject({ id: sent.data.id, like_count: 1, is_liked: true, is_sender: false });
      expect((await sa.next('message_update')).data).toMatchObject({ id: sent.data.id, like_count: 1, is_liked: false });
      expect((await sb.next('message_update')).data).toMatchObject({ id: sent.data.id, like_count: 1, is_liked: true });

      const byA = await api(server, 'POST', url, { token: a.token });
      expect(byA.body).toMatchObject({ like_count: 2, is_liked: true, is_sender: true });
      const page = async (token: string) =>
        (await api(server, 'GET', `/api/chat/rooms/${room}/messages`, { token })).body.messages[0];
      expect(await page(a.token)).toMatchObject({ like_count: 2, is_liked: true });
      expect(await page(b.token)).toMatchObject({ like_count: 2, is_liked: true });

      const unlike = await api(server, 'POST', url, { token: b.token });
      expect(unlike.body).toMatchObject({ like_count: 1, is_liked: false });
      expect(await page(b.token)).toMatchObject({ like_count: 1, is_liked: false });
      expect(await page(a.token)).toMatchObject({ like_count: 1, is_liked: true });
      // A like is not an edit, and not a message.
      expect(await page(a.token)).toMatchObject({ is_edited: false, content: 'like me' });
      expect((await chatHistory(server, a, room)).total).toBe(1);
    });

    it('an outsider cannot like (404 "Message not found") and learns nothing', async () => {
      const { a, b, room } = await pair(server);
      const [outsider] = await users(server, 1);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'private');
      expectDetail(await api(server, 'POST', `/api/chat/messages/${sent.data.id}/like`, { token: outsider.token }), 404, 'Message not found');
      await settle(sa);
      expect(sa.all('message_update')).toHaveLength(0);
    });
  });
});
