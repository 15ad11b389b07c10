// Bad input on /api/chat: every bad frame gets {"type":"error","message"} and the socket stays
// open and usable; every bad REST request gets a 4xx of exactly {"detail": "..."}; nothing
// half-done is stored (history totals are checked afterwards).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, chatSocket, newRoom, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { useParley, startParley } from '../../helpers/parley.js';
import { chatHistory, databases, expectDetail, historyTotal, nextError, pair, send, settle, textFrame, users } from './support.js';

describe.each(databases)('/api/chat bad input on %s', (db) => {
  const server = useParley({ db });

  describe('WebSocket frames', () => {
    let a: TestUser;
    let b: TestUser;
    let room: number;
    /** A room of two other users. */
    let foreignRoom: number;
    let foreignOwner: TestUser;
    let sa: TestSocket;
    let sb: TestSocket;
    let valid = 0;

    beforeAll(async () => {
      ({ a, b, room } = await pair(server));
      const [x, y] = await users(server, 2);
      foreignRoom = await newRoom(server, x, y);
      foreignOwner = x;
      sa = await chatSocket(server, a, room);
      sb = await chatSocket(server, b, room);
    });
    afterAll(() => {
      sa.close();
      sb.close();
    });

    /** After a bad frame: the socket is open and a valid send is acked and delivered. */
    async function stillWorks() {
      expect(sa.ws.readyState).toBe(sa.ws.OPEN);
      const ack = await send(sa, room, b, `valid ${++valid}`);
      expect((await sb.next('new_message', { where: (f) => f.data.id === ack.data.id })).data.content).toBe(`valid ${valid}`);
    }

    const data = (d: Record<string, unknown>) => ({ type: 'send_message', data: d });
    const ok = () => ({ room_id: room, receiver_id: b.user.id, message_type: 'text', content: 'x' });

    const cases: [string, () => unknown, RegExp][] = [
      ['malformed JSON', () => '{"type": "send_message", "data": {', /JSON/],
      ['a JSON array', () => '[]', /JSON object/],
      ['a JSON string', () => '"send_message"', /JSON object/],
      ['a JSON number', () => '42', /JSON object/],
      ['JSON null', () => 'null', /JSON object/],
      ['an empty text frame', () => '', /JSON/],
      ['an unknown frame type', () => ({ type: 'launch_rockets', data: {} }), /Unknown message type: launch_rockets/],
      ['no type at all', () => ({ data: ok() }), /Unknown message type/],
      ['a type that is not a string', () => ({ type: 5 }), /Unknown message type/],
      ['a type named after an Object method', () => ({ type: 'toString' }), /Unknown message type/],
      ['a type named __proto__', () => '{"type":"__proto__","data":{}}', /Unknown message type/],
      ['a type named constructor', () => ({ type: 'constructor' }), /Unknown message type/],
      ['room_id as a string', () => data({ ...ok(), room_id: String(room) }), /room_id/],
      ['room_id as a fraction', () => data({ ...ok(), room_id: 1.5 }), /room_id/],
      ['room_id zero', () => data({ ...ok(), room_id: 0 }), /room_id/],
      ['receiver_id as a string', () => data({ ...ok(), receiver_id: String(b.user.id) }), /receiver_id/],
      ['content as a number', () => data({ ...ok(), content: 5 }), /content/],
      ['content as an object', () => data({ ...ok(), content: { text: 'hi' } }), /content/],
      ['an unknown message_type', () => data({ ...ok(), message_type: 'sticker' }), /message_type/],
      ['message_type system', () => data({ ...ok(), message_type: 'system' }), /message_type/],
      ['local_temp_id as an object', () => data({ ...ok(), local_temp_id: { a: 1 } }), /local_temp_id/],
      ['data as a string', () => ({ type: 'send_message', data: 'hello' }), /send_message/],
      ['data as an array', () => ({ type: 'send_message', data: [ok()] }), /send_message/],
      ['no data (no content)', () => ({ type: 'send_message' }), /content is required/],
      ['no content', () => data({ room_id: room, receiver_id: b.user.id, message_type: 'text' }), /content is required/],
      ['null content', () => data({ ...ok(), content: null }), /content is required/],
      ['blank content', () => data({ ...ok(), content: ' \n\t ' }), /content is required/],
      ['content of 5001 characters', () => data({ ...ok(), content: 'x'.repeat(5001) }), /Message too long/],
      ['content holding a NUL character', () => data({ ...ok(), content: 'a\u0000b' }), /NUL character/],
      ['an image without files', () => data({ ...ok(), message_type: 'image' }), /file/],
      ['files_data that is not an array', () => data({ ...ok(), files_data: 'aGk=' }), /files_data/],
      ['a receiver who is not in the room', () => data({ ...ok(), receiver_id: 987654321 }), /receiver_id/],
      ['oneself as the receiver', () => data({ ...ok(), receiver_id: a.user.id }), /receiver_id/],
      ['someone else\'s room', () => data({ ...ok(), room_id: foreignRoom }), /^Room not found$/],
      ['a room that does not exist', () => data({ ...ok(), room_id: 987654321 }), /^Room not found$/],
      ['a reply to a message of another room', () => data({ ...ok(), reply_to: 987654321 }), /replied/],
      ['typing with is_typing "yes"', () => ({ type: 'typing', data: { room_id: room, is_typing: 'yes' } }), /is_typing/],
      ['typing without is_typing', () => ({ type: 'typing', data: { room_id: room } }), /is_typing/],
      ['typing with room_id as a string', () => ({ type: 'typing', data: { room_id: String(room), is_typing: true } }), /room_id/],
      ['typing in someone else\'s room', () => ({ type: 'typing', data: { room_id: foreignRoom, is_typing: true } }), /^Room not found$/],
      ['join_room without data', () => ({ type: 'join_room' }), /room_id/],
      ['join_room with room_id as a string', () => ({ type: 'join_room', data: { room_id: String(room) } }), /room_id/],
      ['join_room with a negative room_id', () => ({ type: 'join_room', data: { room_id: -1 } }), /room_id/],
      ['join_room of someone else\'s room', () => ({ type: 'join_room', data: { room_id: foreignRoom } }), /^Room not found$/],
      ['join_room of a room that does not exist', () => ({ type: 'join_room', data: { room_id: 987654321 } }), /^Room not found$/],
    ];

    it.each(cases)('%s: an error frame, the socket stays open, nothing stored', async (_name, frame, message) => {
      const before = await historyTotal(server, a, room);
      const f = frame();
      sa.send(typeof f === 'string' ? f : JSON.stringify(f));
      const err = await nextError(sa, message);
      expect(err.type).toBe('error');
      expect(await historyTotal(server, a, room)).toBe(before);
      // A failed join_room keeps the socket in its room: stillWorks() needs sa's room delivery for b.
      await stillWorks();
      expect(await historyTotal(server, a, room)).toBe(before + 1);
    });

    // PostgreSQL's text cannot hold U+0000: it failed there inside the append, after the
    // send was taken. Refused alike on every database, before anything is stored.
    it('property: any content holding a NUL, anywhere, is refused with an error frame; nothing stored, the socket works', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 3 }), async (head, tail, nuls) => {
          const before = await historyTotal(server, a, room);
          sa.send(data({ ...ok(), content: head + '\u0000'.repeat(nuls) + tail }));
          await nextError(sa, /NUL character/);
          expect(await historyTotal(server, a, room)).toBe(before);
        }),
        { numRuns: 15 },
      );
      await stillWorks();
    });

    it('a binary frame: an error frame, the socket stays open', async () => {
      sa.ws.send(Buffer.from(JSON.stringify(textFrame(room, b.user.id, 'binary'))), { binary: true });
      await nextError(sa, /[Bb]inary/);
      await stillWorks();
      expect((await chatHistory(server, a, room)).messages.map((m) => m.content)).not.toContain('binary');
    });

    it('content of exactly 5000 characters is fine, and characters are characters, not UTF-16 units', async () => {
      const ack = await send(sa, room, b, 'x'.repeat(5000));
      expect(ack.data.content).toHaveLength(5000);
      // 5000 emoji are 5000 characters (10000 UTF-16 code units): within the documented limit.
      const emoji = await send(sa, room, b, '😀'.repeat(5000));
      expect([...emoji.data.content]).toHaveLength(5000);
      sa.send(textFrame(room, b.user.id, '😀'.repeat(5001)));
      await nextError(sa, /Message too long/);
      await stillWorks();
    });

    it('a send without a room on a socket without one needs room_id or receiver_id', async () => {
      const s = await chatSocket(server, a);
      s.send({ type: 'send_message', data: { message_type: 'text', content: 'where to?' } });
      await nextError(s, /room_id/);
      s.send({ type: 'typing', data: { is_typing: true } });
      await nextError(s, /room_id/);
      // receiver_id of a user of another tenant (or unknown): not found, nothing created.
      s.send({ type: 'send_message', data: { receiver_id: 987654321, message_type: 'text', content: 'hello?' } });
      await nextError(s, 'User not found');
      await settle(s);
      expect(s.all('new_message')).toEqual([]);
    });

    it('many bad frames in a row are all answered, in order, and the socket survives', async () => {
      const bad = ['{', '[]', '{"type":"nope"}', JSON.stringify({ type: 'typing', data: { is_typing: 'no' } })];
      for (let i = 0; i < 25; i++) sa.send(bad[i % bad.length]);
      for (let i = 0; i < 25; i++) await sa.next('error');
      await stillWorks();
    });

    it('after all of it the history holds exactly the valid sends', async () => {
      const history = await chatHistory(server, a, room);
      const valids = history.messages.filter((m) => /^valid \d+$/.test(m.content));
      expect(valids.map((m) => m.content)).toEqual(Array.from({ length: valid }, (_, i) => `valid ${i + 1}`));
      // Plus the two 5000-character ones.
      expect(history.total).toBe(valid + 2);
      // Nothing reached the foreign room either.
      expect(await historyTotal(server, foreignOwner, foreignRoom)).toBe(0);
    });
  });

  describe('a frame over the size limit', () => {
    it('closes that socket with 1009; nothing stored, the other sockets unaffected', async (t) => {
      const small = await startParley(t, { db, env: { WS_MAX_PAYLOAD_BYTES: String(64 * 1024) } });
      const { a, b, room } = await pair(small);
      const sa = await chatSocket(small, a, room);
      const sb = await chatSocket(small, b, room);
      sa.send(textFrame(room, b.user.id, 'x'.repeat(70 * 1024)));
      expect((await sa.closed).code).toBe(1009);
      const ack = await send(sb, room, a, 'b is fine');
      expect(ack.data.content).toBe('b is fine');
      expect(await historyTotal(small, b, room)).toBe(1);
      sb.close();
    });
  });

  describe('REST', () => {
    it('POST /api/chat/rooms with receiver_id of the wrong type, missing, or a body that is not an object: 422 naming it', async () => {
      const [a, b] = await users(server, 2);
      const post = (json: unknown) => api(server, 'POST', '/api/chat/rooms', { token: a.token, json });
      expectDetail(await post({ receiver_id: String(b.user.id) }), 422, /receiver_id/);
      expectDetail(await post({ receiver_id: 2.5 }), 422, /receiver_id/);
      expectDetail(await post({ receiver_id: null }), 422, /receiver_id/);
      expectDetail(await post({ receiver_id: true }), 422, /receiver_id/);
      expectDetail(await post({ receiver_id: 0 }), 422, /receiver_id/);
      expectDetail(await post({}), 422, /receiver_id/);
      expectDetail(await post({ receiverId: b.user.id }), 422, /receiver_id/);
      expectDetail(await post([{ receiver_id: b.user.id }]), 422);
      expectDetail(await post('receiver_id'), 422);
      expectDetail(await post(null), 422);
      expect((await api(server, 'GET', '/api/chat/rooms', { token: a.token })).body).toEqual({ rooms: [], total: 0 });
    });

    it('unknown fields are ignored', async () => {
      const [a, b] = await users(server, 2);
      const res = await api(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id, name: 'ignored', extra: [1] } });
      expect(res.status).toBe(200);
      expect(res.body.other_user.id).toBe(b.user.id);
    });

    it('a malformed JSON body is 422 "Invalid JSON body"; an unsupported content type is a 4xx {"detail"}', async () => {
      const [a, b] = await users(server, 2);
      expectDetail(await api(server, 'POST', '/api/chat/rooms', { token: a.token, raw: '{"receiver_id": ' }), 422, 'Invalid JSON body');
      expectDetail(await api(server, 'POST', '/api/chat/rooms', { token: a.token, raw: "{'receiver_id': 2}" }), 422, 'Invalid JSON body');
      const plain = await api(server, 'POST', '/api/chat/rooms', { token: a.token, raw: `receiver_id=${b.user.id}`, headers: { 'content-type': 'text/plain' } });
      expect(plain.status).toBeGreaterThanOrEqual(400);
      expect(plain.status).toBeLessThan(500);
      expectDetail(plain, plain.status);
      expect((await api(server, 'GET', '/api/chat/rooms', { token: a.token })).body.total).toBe(0);
    });

    it('Content-Type: application/json with an empty body, on endpoints that take no body, is no body (what fetch wrappers send)', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'hello');
      const empty = { headers: { 'content-type': 'application/json' }, raw: '' };
      const read = await api(server, 'POST', `/api/chat/rooms/${room}/read`, { token: b.token, ...empty });
      expect({ status: read.status, body: read.body }).toEqual({ status: 200, body: { status: 'success', message: 'Room marked as read' } });
      const like = await api(server, 'POST', `/api/chat/messages/${sent.data.id}/like`, { token: b.token, ...empty });
      expect(like.status).toBe(200);
      expect(like.body.like_count).toBe(1);
      const del = await api(server, 'DELETE', `/api/chat/messages/${sent.data.id}`, { token: a.token, ...empty });
      expect({ status: del.status, body: del.body }).toEqual({ status: 200, body: { status: 'success', message: 'Message deleted' } });
      // Where a body is required, an empty one is still refused: 422 naming what is missing.
      expectDetail(await api(server, 'POST', '/api/chat/rooms', { token: a.token, ...empty }), 422, /body/);
      expectDetail(await api(server, 'PUT', `/api/chat/messages/${sent.data.id}`, { token: a.token, ...empty }), 422, /body/);
      // And JSON's prototype poisoning is still refused.
      expectDetail(await api(server, 'POST', '/api/chat/rooms', { token: a.token, raw: `{"receiver_id": ${b.user.id}, "__proto__": {"x": 1}}` }), 422);
    });

    it('a body over the size limit is 413 {"detail"}', async () => {
      const [a, b] = await users(server, 2);
      const res = await api(server, 'POST', '/api/chat/rooms', { token: a.token, raw: JSON.stringify({ receiver_id: b.user.id, pad: 'x'.repeat(2 * 1024 * 1024) }) });
      expectDetail(res, 413);
    });

    it('PUT /api/chat/messages/{id} with content of the wrong type or missing: 422, the message unchanged', async () => {
      const { a, b, room } = await pair(server);
      const sa = await chatSocket(server, a, room);
      const sent = await send(sa, room, b, 'original');
      const url = `/api/chat/messages/${sent.data.id}`;
      expectDetail(await api(server, 'PUT', url, { token: a.token, json: { content: 5 } }), 422, /content/);
      expectDetail(await api(server, 'PUT', url, { token: a.token, json: { content: null } }), 422, /content/);
      expectDetail(await api(server, 'PUT', url, { token: a.token, json: { text: 'new' } }), 422, /content/);
      expectDetail(await api(server, 'PUT', url, { token: a.token, form: { text: 'new' } }), 422, /content/);
      expectDetail(await api(server, 'PUT', url, { token: a.token, raw: '{"content": "unterminated' }), 422, 'Invalid JSON body');
      const history = await chatHistory(server, a, room);
      expect(history.messages).toMatchObject([{ content: 'original', is_edited: false }]);
      expect(history.total).toBe(1);
    });

    it('ids in paths and paging in queries of the wrong type or range: 422 naming them', async () => {
      const { a, room } = await pair(server);
      const t = { token: a.token };
      expectDetail(await api(server, 'GET', '/api/chat/rooms/abc', t), 422, /room_id/);
      expectDetail(await api(server, 'GET', '/api/chat/rooms/0', t), 422, /room_id/);
      expectDetail(await api(server, 'GET', '/api/chat/rooms/1.5/messages', t), 422, /room_id/);
      expectDetail(await api(server, 'POST', '/api/chat/rooms/-3/read', t), 422, /room_id/);
      expectDetail(await api(server, 'PUT', '/api/chat/messages/abc', { ...t, form: { content: 'x' } }), 422, /message_id/);
      expectDetail(await api(server, 'DELETE', '/api/chat/messages/0', t), 422, /message_id/);
      expectDetail(await api(server, 'POST', '/api/chat/messages/x/like', t), 422, /message_id/);
      for (const q of ['page=0', 'page=-1', 'page=abc', 'per_page=0', 'per_page=101', 'per_page=ten', 'page=1.5']) {
        expectDetail(await api(server, 'GET', `/api/chat/rooms/${room}/messages?${q}`, t), 422, /page/);
      }
    });

    it('an unknown path is 404 {"detail": "Not Found"}', async () => {
      const [a] = await users(server, 1);
      expectDetail(await api(server, 'GET', '/api/chat/nothing-here', { token: a.token }), 404, 'Not Found');
    });
  });
});
