// Bad input on /api/v1/chat (DESIGN.md, Bad input): a known field of the wrong type or a
// missing one is 422 {"detail": …} naming it; text over 5000 characters is refused; every
// bad frame on either socket gets {"type":"error","message": …} and the socket stays open.
// Nothing half-written is left behind.
import { beforeAll, describe, expect, it } from 'vitest';
import { api, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, expectDetail, friends, friendSocket, history002, history004, nextError, room002, roomSocket, send004, sendRoom, settle } from './support.js';

const MAX = 5000;

describe.each(databases)('/api/v1/chat bad input on %s', (db) => {
  const server = useParley({ db });
  let a: TestUser;
  let b: TestUser;
  let room: number;
  beforeAll(async () => {
    [a, b] = await friends(server);
    room = await room002(server, a, b);
  });

  const total = async () => (await history004(server, a, b)).total;

  it('004 POST messages/: wrong types and missing fields are 422 {"detail"} naming the field; nothing is stored', async () => {
    const before = await total();
    const cases: [unknown, RegExp][] = [
      [{ receiver_id: { id: b.user.uuid }, content: 'x' }, /receiver_id/],
      [{ receiver_id: [b.user.uuid], content: 'x' }, /receiver_id/],
      [{ receiver_id: true, content: 'x' }, /receiver_id/],
      [{ receiver_id: null, content: 'x' }, /receiver_id/],
      [{ receiver_id: b.user.uuid, content: 42 }, /content/],
      [{ receiver_id: b.user.uuid, content: { text: 'x' } }, /content/],
      [{ receiver_id: b.user.uuid, content: null }, /content/],
      [{ receiver_id: b.user.uuid, content: '' }, /content/],
      [{ content: 'x' }, /receiver_id/],
      [{ receiver_id: b.user.uuid }, /content/],
      [{}, /receiver_id|content/],
      [{ receiver_id: 'x'.repeat(65), content: 'x' }, /receiver_id/],
    ];
    for (const [json, field] of cases) {
      const res = await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json });
      expect({ json, status: res.status }).toEqual({ json, status: 422 });
      expectDetail(res, 422, field);
    }
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, raw: '{"receiver_id": ' }), 422, 'Invalid JSON body');
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, raw: '[1,2]' }), 422);
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, raw: '"text"' }), 422);
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, raw: '' }), 422);
    const plain = await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, raw: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(plain.status).toBeGreaterThanOrEqual(400);
    expect(plain.status).toBeLessThan(500);
    expectDetail(plain, plain.status);
    // Unknown fields are ignored.
    const extra = await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: b.user.uuid, content: 'with extras', mood: 'happy' } });
    expect(extra.status).toBe(200);
    expect(await total()).toBe(before + 1);
  });

  it('004 POST messages/: blank text, oneself and unknown users are 4xx {"detail"}; nothing is stored', async () => {
    const before = await total();
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: b.user.uuid, content: '   ' } }), 400, 'Message content is required');
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: a.user.uuid, content: 'me' } }), 400);
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: crypto.randomUUID(), content: 'nobody' } }), 404, 'User not found');
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: 'not-a-uuid', content: 'nobody' } }), 404, 'User not found');
    expect(await total()).toBe(before);
  });

  it(`text over ${MAX} characters is refused on REST (004 send, 002 edit) and on both sockets; ${MAX} is accepted, counted in characters`, async () => {
    const before = await total();
    const over = 'x'.repeat(MAX + 1);
    const res = await api(server, 'POST', '/api/v1/chat/messages/', { token: a.token, json: { receiver_id: b.user.uuid, content: over } });
    expect([400, 422]).toContain(res.status);
    expectDetail(res, res.status, new RegExp(String(MAX)));
    expect(await total()).toBe(before);

    const exact = await send004(server, a, b, 'y'.repeat(MAX));
    expect(exact.content).toHaveLength(MAX);
    // 5000 emoji are 5000 characters (10000 UTF-16 units).
    const emoji = await send004(server, a, b, '😀'.repeat(MAX));
    expect([...emoji.content]).toHaveLength(MAX);
    expect(await total()).toBe(before + 2);

    const sa = await friendSocket(server, a);
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: over });
    await nextError(sa, new RegExp(String(MAX)));
    const sr = await roomSocket(server, a, room);
    sr.send({ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'text', content: over } });
    await nextError(sr, new RegExp(String(MAX)));
    await settle(sa);
    await settle(sr);
    expect(await total()).toBe(before + 2);

    const m = await sendRoom(sr, room, b, 'short');
    const edit = await api(server, 'PUT', `/api/v1/chat/messages/${m.data.id}`, { token: a.token, form: { content: over } });
    expect([400, 422]).toContain(edit.status);
    expectDetail(edit, edit.status, new RegExp(String(MAX)));
    expect((await history002(server, b, room)).messages.find((x) => x.id === m.data.id).content).toBe('short');
  });

  it('002 REST: wrong types and missing fields are 422 {"detail"}', async () => {
    for (const json of [{ receiver_id: String(b.user.id) }, { receiver_id: { id: b.user.id } }, { receiver_id: 0 }, { receiver_id: 1.5 }, {}]) {
      expectDetail(await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json }), 422, /receiver_id/);
    }
    expectDetail(await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, raw: '{"receiver_id":' }), 422, 'Invalid JSON body');
    const sr = await roomSocket(server, a, room);
    const m = await sendRoom(sr, room, b, 'edit me');
    sr.close();
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${m.data.id}`, { token: a.token, json: { content: 7 } }), 422, /content/);
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/${m.data.id}`, { token: a.token, json: {} }), 422, /content/);
    expectDetail(await api(server, 'PUT', `/api/v1/chat/messages/abc`, { token: a.token, form: { content: 'x' } }), 422, /message_id/);
    expectDetail(await api(server, 'GET', `/api/v1/chat/rooms/abc`, { token: a.token }), 422, /room_id/);
    expectDetail(await api(server, 'GET', `/api/v1/chat/search-users`, { token: a.token }), 422, /email/);
    expectDetail(await api(server, 'DELETE', `/api/v1/chat/messages/12ab`, { token: a.token }), 422, /message_id/);
    expect((await history002(server, b, room)).messages.find((x) => x.id === m.data.id).content).toBe('edit me');
  });

  it('ids and numbers out of any range are a 4xx {"detail"}, never a 500', async () => {
    const huge = '99999999999999999999';
    const paths: [string, string, { json?: unknown; form?: Record<string, string> }?][] = [
      ['GET', `/api/v1/chat/rooms/${huge}`],
      ['GET', `/api/v1/chat/rooms/${huge}/messages`],
      ['POST', `/api/v1/chat/rooms/${huge}/read`],
      ['PUT', `/api/v1/chat/messages/${huge}`, { form: { content: 'x' } }],
      ['DELETE', `/api/v1/chat/messages/${huge}`],
      ['DELETE', `/api/v1/chat/messages/999999999999999999`],
      ['POST', '/api/v1/chat/rooms', { json: { receiver_id: 1e20 } }],
      ['POST', '/api/v1/chat/messages/', { json: { receiver_id: 1e20, content: 'x' } }],
      ['GET', `/api/v1/chat/messages/history/${huge}`],
      ['GET', `/api/v1/chat/messages/history/${b.user.uuid}?skip=${huge}&limit=10`],
      ['GET', `/api/v1/chat/rooms/${room}/messages?page=${huge}&per_page=10`],
    ];
    const failures: string[] = [];
    for (const [method, path, body] of paths) {
      const res = await api(server, method, path, { token: a.token, ...body });
      if (res.status >= 500) failures.push(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
      else if (res.status >= 400) expectDetail(res, res.status);
    }
    expect(failures).toEqual([]);
    const sr = await roomSocket(server, a);
    sr.send({ type: 'join_room', data: { room_id: 1e20 } });
    await nextError(sr);
    sr.send({ type: 'send_message', data: { room_id: 1e20, message_type: 'text', content: 'x' } });
    await nextError(sr);
    const sa = await friendSocket(server, a);
    sa.send({ type: 'send_message', receiver_id: 1e20, content: 'x' });
    await nextError(sa);
    for (const s of [sr, sa]) {
      expect(s.all('error').every((f) => f.code !== 'internal')).toBe(true);
      s.close();
    }
  });

  /** The socket is still usable: it answers a ping. */
  async function alive(s: TestSocket) {
    s.send({ type: 'ping' });
    await s.next('pong');
  }

  it('the 004 socket answers malformed JSON, unknown types and bad fields with an error frame and stays open; nothing is stored', async () => {
    const before = await total();
    const sa = await friendSocket(server, a);
    const sb = await friendSocket(server, b);
    const bad: [string | object, RegExp | string][] = [
      ['{not json', /JSON/],
      ['[1,2,3]', /JSON|object/],
      ['"hello"', /JSON|object/],
      ['null', /JSON|object/],
      [{ type: 'shout', receiver_id: b.user.uuid }, 'Unknown message type: shout'],
      [{ receiver_id: b.user.uuid, content: 'no type' }, /Unknown message type/],
      [{ type: 42 }, /Unknown message type/],
      [{ type: 'send_message', receiver_id: { id: b.user.uuid }, content: 'x' }, /receiver_id/],
      [{ type: 'send_message', receiver_id: b.user.uuid, content: 12 }, /content/],
      [{ type: 'send_message', receiver_id: b.user.uuid }, /content/],
      [{ type: 'send_message', content: 'x' }, /receiver_id/],
      [{ type: 'send_message', receiver_id: b.user.uuid, content: '' }, 'Message content is required'],
      [{ type: 'mark_read', message_id: 5 }, /message_id/],
      [{ type: 'mark_read' }, /message_id/],
      [{ type: 'typing', receiver_id: b.user.uuid, is_typing: 'yes' }, /is_typing/],
      [{ type: 'typing', is_typing: true }, /receiver_id/],
    ];
    for (const [frame, match] of bad) {
      sa.send(frame);
      const err = await nextError(sa, match);
      expect(err.type).toBe('error');
      await alive(sa);
    }
    sa.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await nextError(sa);
    await alive(sa);

    // Still a working chat socket.
    sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'still here' });
    await sa.next('message_sent');
    expect((await sb.next('new_message')).message.content).toBe('still here');
    await settle(sb, 300);
    expect(sb.all('new_message')).toHaveLength(1);
    expect(sb.all('typing_indicator')).toEqual([]);
    expect(await total()).toBe(before + 1);
  });

  it('the 002 socket answers malformed JSON, unknown types and bad fields with an error frame and stays open; nothing is stored', async () => {
    const before = (await history002(server, a, room)).total;
    const sa = await roomSocket(server, a, room);
    const sb = await roomSocket(server, b, room);
    const bad: [string | object, RegExp | string][] = [
      ['{not json', /JSON/],
      ['[]', /JSON|object/],
      [{ type: 'shout', data: {} }, 'Unknown message type: shout'],
      [{ data: { content: 'no type' } }, /Unknown message type/],
      [{ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'text', content: 5 } }, /content/],
      [{ type: 'send_message', data: { room_id: String(room), receiver_id: b.user.id, message_type: 'text', content: 'x' } }, /room_id/],
      [{ type: 'send_message', data: { room_id: room, receiver_id: { id: b.user.id }, message_type: 'text', content: 'x' } }, /receiver_id/],
      [{ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'hologram', content: 'x' } }, /message_type/],
      [{ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'text' } }, /content|required/i],
      [{ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'text', content: '   ' } }, /required/],
      [{ type: 'typing', data: { room_id: room, is_typing: 'yes' } }, /is_typing/],
      [{ type: 'join_room', data: {} }, /room_id/],
      [{ type: 'join_room', data: { room_id: 'one' } }, /room_id/],
    ];
    for (const [frame, match] of bad) {
      sa.send(frame);
      await nextError(sa, match);
      await alive(sa);
    }
    sa.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await nextError(sa);
    await alive(sa);

    // Still in its room, still sending.
    const ok = await sendRoom(sa, undefined, b, 'still here');
    expect((await sb.next('new_message', { where: (f) => f.data.id === ok.data.id })).data.content).toBe('still here');
    await settle(sb, 300);
    expect(sb.all('new_message')).toHaveLength(1);
    expect(sb.all('typing')).toEqual([]);
    expect((await history002(server, a, room)).total).toBe(before + 1);
  });
});
