// Every /api/v1/chat endpoint (002 and 004) × {anonymous, bad token, outsider}: 401
// {"detail":"Not authenticated"} without or with a bad token, 404 with the document's text
// for anyone outside the room, message or tenant (existence never leaks). And the sockets:
// 002's closes 4003 on someone else's room_id; both answer other people's things with an
// error frame and store nothing.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, openSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { badTokens as makeBadTokens } from '../../helpers/tokens.js';
import { databases, expectDetail, friends, friendSocket, history002, history004, nextError, room002, roomSocket, send004, sendRoom, settle, tempId, textFrame, users } from './support.js';


interface Fixture {
  a: TestUser;
  b: TestUser;
  room: number;
  /** A 002 message (integer id) and a 004 message (uuid) of a to b, kept. */
  messageId: number;
  messageUuid: string;
  /** Messages for the DELETE rows (an authorized DELETE would remove them; nothing may). */
  deleteId: number;
  deleteUuid: string;
}

interface Endpoint {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  body?: (f: Fixture) => { json?: unknown; form?: Record<string, string> };
  /** What an outsider gets: 404 with this text; null when the endpoint is only about the caller. */
  outsider: string | null;
}

const ENDPOINTS: Endpoint[] = [
  // 002
  { name: '002 GET search-users', method: 'GET', path: () => '/api/v1/chat/search-users?email=example.com', outsider: null },
  { name: '002 POST rooms', method: 'POST', path: () => '/api/v1/chat/rooms', body: (f) => ({ json: { receiver_id: f.b.user.id } }), outsider: null },
  { name: '002 GET rooms', method: 'GET', path: () => '/api/v1/chat/rooms', outsider: null },
  { name: '002 GET rooms/{id}', method: 'GET', path: (f) => `/api/v1/chat/rooms/${f.room}`, outsider: 'Room not found' },
  { name: '002 GET rooms/{id}/messages', method: 'GET', path: (f) => `/api/v1/chat/rooms/${f.room}/messages?page=1&per_page=50`, outsider: 'Room not found' },
  { name: '002 POST rooms/{id}/read', method: 'POST', path: (f) => `/api/v1/chat/rooms/${f.room}/read`, outsider: 'Room not found' },
  { name: '002 PUT messages/{id}', method: 'PUT', path: (f) => `/api/v1/chat/messages/${f.messageId}`, body: () => ({ form: { content: 'Updated message content' } }), outsider: 'Message not found' },
  { name: '002 DELETE messages/{id}', method: 'DELETE', path: (f) => `/api/v1/chat/messages/${f.deleteId}`, outsider: 'Message not found' },
  { name: '002 GET unread-count', method: 'GET', path: () => '/api/v1/chat/unread-count', outsider: null },
  { name: '002 GET online-users', method: 'GET', path: () => '/api/v1/chat/online-users', outsider: null },
  // 004
  { name: '004 POST messages/', method: 'POST', path: () => '/api/v1/chat/messages/', body: (f) => ({ json: { receiver_id: f.b.user.uuid, content: 'Message content' } }), outsider: null },
  { name: '004 GET messages/history/{friend_id}', method: 'GET', path: (f) => `/api/v1/chat/messages/history/${f.b.user.uuid}?skip=0&limit=50`, outsider: null },
  { name: '004 PUT messages/{uuid}/read', method: 'PUT', path: (f) => `/api/v1/chat/messages/${f.messageUuid}/read`, outsider: 'Message not found' },
  { name: '004 DELETE messages/{uuid}', method: 'DELETE', path: (f) => `/api/v1/chat/messages/${f.deleteUuid}`, outsider: 'Message not found' },
  { name: '004 GET messages/unread-count', method: 'GET', path: () => '/api/v1/chat/messages/unread-count', outsider: null },
  { name: '004 GET friends/online', method: 'GET', path: () => '/api/v1/chat/friends/online', outsider: null },
];

/** Endpoints that name a user: someone of another tenant is told the user does not exist. */
const OTHER_TENANT: Record<string, string> = {
  '002 POST rooms': 'User not found',
  '004 POST messages/': 'User not found',
  '004 GET messages/history/{friend_id}': 'User not found',
};

describe.each(databases)('/api/v1/chat authorization on %s', (db) => {
  const server = useParley({ db });
  let f: Fixture;
  let outsider: TestUser;
  let foreigner: TestUser;
  let badTokens: Record<string, string>;

  beforeAll(async () => {
    const [a, b] = await friends(server);
    const room = await room002(server, a, b);
    const sa = await roomSocket(server, a, room);
    const m = await sendRoom(sa, room, b, 'guarded');
    const d = await sendRoom(sa, room, b, 'guarded, not to be deleted');
    sa.close();
    const m4 = await send004(server, a, b, 'guarded 004');
    const d4 = await send004(server, a, b, 'guarded 004, not to be deleted');
    f = { a, b, room, messageId: m.data.id, messageUuid: m4.message_id, deleteId: d.data.id, deleteUuid: d4.message_id };
    [outsider] = await users(server, 1);
    [foreigner] = await users(server, 1, { tenantId: randomUUID() });

    badTokens = await makeBadTokens(server, a, b);
  });

  const call = (e: Endpoint, opts: { token?: string; headers?: Record<string, string> } = {}) => api(server, e.method, e.path(f), { ...opts, ...(e.body?.(f) ?? {}) });

  /** Nothing an unauthorized call could have changed did change. */
  async function untouched() {
    const h4 = await history004(server, f.a, f.b);
    expect(h4.total).toBe(4);
    expect(h4.messages.every((m) => !m.is_deleted)).toBe(true);
    expect(h4.messages.every((m) => m.status !== 'read')).toBe(true);
    const h2 = await history002(server, f.b, f.room);
    expect(h2.messages.find((m) => m.id === f.messageId)).toMatchObject({ content: 'guarded', is_edited: false });
    expect((await api(server, 'GET', '/api/v1/chat/rooms', { token: f.b.token })).body.rooms[0].unread_count).toBe(4);
  }

  it.each(ENDPOINTS)('$name: anonymous → 401 {"detail":"Not authenticated"}', async (e) => {
    const res = await call(e);
    expectDetail(res, 401, 'Not authenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    for (const authorization of ['', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Token ${f.a.token}`]) {
      expectDetail(await call(e, { headers: { authorization } }), 401, 'Not authenticated');
    }
    await untouched();
  });

  it.each(ENDPOINTS)('$name: a bad token → 401', async (e) => {
    for (const [what, token] of Object.entries(badTokens)) {
      const res = await call(e, { token });
      expect({ what, status: res.status, body: res.body }).toEqual({ what, status: 401, body: { detail: 'Not authenticated' } });
    }
    await untouched();
  });

  it.each(ENDPOINTS.filter((e) => e.outsider !== null))('$name: an outsider → 404 with the document\'s text', async (e) => {
    expectDetail(await call(e, { token: outsider.token }), 404, e.outsider!);
    expectDetail(await call(e, { token: foreigner.token }), 404, e.outsider!);
    await untouched();
  });

  it.each(Object.keys(OTHER_TENANT))('%s: a user of another tenant → 404 (the user does not exist for them)', async (name) => {
    const e = ENDPOINTS.find((x) => x.name === name)!;
    expectDetail(await call(e, { token: foreigner.token }), 404, OTHER_TENANT[name]);
    await untouched();
  });

  it('the caller-only endpoints show an outsider nothing of others', async () => {
    const rooms = await api(server, 'GET', '/api/v1/chat/rooms', { token: outsider.token });
    expect(rooms.body).toEqual({ rooms: [], total: 0 });
    const counts = await api(server, 'GET', '/api/v1/chat/unread-count', { token: outsider.token });
    expect(counts.body.unread_counts).toEqual({});
    expect((await api(server, 'GET', '/api/v1/chat/messages/unread-count', { token: outsider.token })).body).toEqual({ unread_count: 0 });
    expect((await api(server, 'GET', '/api/v1/chat/online-users', { token: outsider.token })).body.online_users).toEqual([]);
    expect((await api(server, 'GET', '/api/v1/chat/friends/online', { token: outsider.token })).body).toEqual({ online_friends: [] });
    const search = await api(server, 'GET', `/api/v1/chat/search-users?email=${encodeURIComponent(f.a.user.email)}`, { token: foreigner.token });
    expect(search.body).toEqual({ users: [], total: 0 });
    // A history with someone one has never written to is empty, never somebody else's.
    expect(await history004(server, outsider, f.b)).toMatchObject({ messages: [], total: 0 });
  });

  it('anonymous is 401 before the body is validated', async () => {
    expectDetail(await api(server, 'POST', '/api/v1/chat/messages/', { json: { receiver_id: {}, content: 5 } }), 401, 'Not authenticated');
    expectDetail(await api(server, 'POST', '/api/v1/chat/rooms', { raw: '{nope' }), 401, 'Not authenticated');
    expectDetail(await api(server, 'GET', '/api/v1/chat/messages/history/x?limit=1000'), 401, 'Not authenticated');
  });

  it('the 002 socket closes 4003 for a room_id that is not the user\'s (someone else\'s, unknown, not a number)', async () => {
    for (const [who, user, roomId] of [
      ['outsider', outsider, String(f.room)],
      ['other tenant', foreigner, String(f.room)],
      ['unknown room', f.a, '987654321'],
      ['not a number', f.a, 'abc'],
    ] as const) {
      const s = await openSocket(`${server.wsUrl}/api/v1/chat/ws?token=${encodeURIComponent(user.token)}&room_id=${roomId}`);
      const { code } = await s.closed;
      expect({ who, code }).toEqual({ who, code: 4003 });
      expect(s.all('new_message')).toEqual([]);
    }
    for (const [what, token] of Object.entries(badTokens)) {
      const s = await openSocket(`${server.wsUrl}/api/v1/chat/ws?token=${encodeURIComponent(token)}&room_id=${f.room}`);
      expect({ what, code: (await s.closed).code }).toEqual({ what, code: 4001 });
    }
  });

  it('the 002 socket answers join_room, send_message and typing into someone else\'s room with an error frame; nothing is stored, nobody told', async () => {
    const sb = await roomSocket(server, f.b, f.room);
    const so = await roomSocket(server, outsider);
    so.send({ type: 'join_room', data: { room_id: f.room } });
    await nextError(so, 'Room not found');
    const tid = tempId();
    so.send(textFrame(f.room, f.b.user.id, 'intruder', { local_temp_id: tid }));
    expect((await nextError(so, 'Room not found')).local_temp_id).toBe(tid);
    so.send({ type: 'typing', data: { room_id: f.room, is_typing: true } });
    await nextError(so, 'Room not found');
    await settle(so, 300);
    expect(sb.all('new_message')).toEqual([]);
    expect(sb.all('typing')).toEqual([]);
    await untouched();
  });

  it('the 004 socket answers other people\'s messages and other tenants\' users with an error frame; nothing is stored', async () => {
    const sb = await friendSocket(server, f.b);
    const so = await friendSocket(server, outsider);
    so.send({ type: 'mark_read', message_id: f.messageUuid });
    await nextError(so, 'Message not found');
    const sf = await friendSocket(server, foreigner);
    sf.send({ type: 'send_message', receiver_id: f.b.user.uuid, content: 'from afar' });
    await nextError(sf, 'User not found');
    sf.send({ type: 'typing', receiver_id: f.b.user.uuid, is_typing: true });
    await nextError(sf, 'User not found');
    await settle(sf, 300);
    expect(sb.all('new_message')).toEqual([]);
    expect(sb.all('typing_indicator')).toEqual([]);
    await untouched();
  });
});
