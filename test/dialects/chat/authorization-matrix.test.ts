// Every /api/chat endpoint × {anonymous, bad token, outsider}, and the socket's close codes.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, chatSocket, newRoom, newUser, TestSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { badTokens as makeBadTokens } from '../../helpers/tokens.js';
import { chatHistory, databases, expectDetail, historyTotal, pair, send, settle, users } from './support.js';


interface Endpoint {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  body?: { json?: unknown; form?: Record<string, string> };
  /** What an outsider (a user not in the room) gets: 404 with the document's text; null when the endpoint is not about a room. */
  outsider: string | null;
}

interface Fixture {
  room: number;
  message: number;
  b: TestUser;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'GET search-users', method: 'GET', path: () => '/api/chat/search-users?email=example.com&limit=20', outsider: null },
  { name: 'POST rooms', method: 'POST', path: () => '/api/chat/rooms', body: { json: { receiver_id: 1 } }, outsider: null },
  { name: 'GET rooms', method: 'GET', path: () => '/api/chat/rooms', outsider: null },
  { name: 'GET rooms/{id}', method: 'GET', path: (f) => `/api/chat/rooms/${f.room}`, outsider: 'Room not found' },
  { name: 'GET rooms/{id}/messages', method: 'GET', path: (f) => `/api/chat/rooms/${f.room}/messages?page=1&per_page=50`, outsider: 'Room not found' },
  { name: 'POST rooms/{id}/read', method: 'POST', path: (f) => `/api/chat/rooms/${f.room}/read`, outsider: 'Room not found' },
  { name: 'PUT messages/{id}', method: 'PUT', path: (f) => `/api/chat/messages/${f.message}`, body: { form: { content: 'Updated message text' } }, outsider: 'Message not found' },
  { name: 'DELETE messages/{id}', method: 'DELETE', path: (f) => `/api/chat/messages/${f.message}`, outsider: 'Message not found' },
  { name: 'POST messages/{id}/like', method: 'POST', path: (f) => `/api/chat/messages/${f.message}/like`, outsider: 'Message not found' },
  { name: 'GET unread-count', method: 'GET', path: () => '/api/chat/unread-count', outsider: null },
  { name: 'GET online-users', method: 'GET', path: () => '/api/chat/online-users', outsider: null },
];

describe.each(databases)('/api/chat authorization on %s', (db) => {
  const server = useParley({ db });
  let a: TestUser;
  let b: TestUser;
  let fixture: Fixture;
  /** Tokens that must all be refused. */
  let badTokens: Record<string, string>;

  beforeAll(async () => {
    const p = await pair(server);
    a = p.a;
    b = p.b;
    const sa = await chatSocket(server, a, p.room);
    const sent = await send(sa, p.room, b, 'guarded');
    sa.close();
    fixture = { room: p.room, message: sent.data.id, b };

    badTokens = await makeBadTokens(server, a, b);
  });

  const call = (e: Endpoint, opts: { token?: string; headers?: Record<string, string> } = {}) =>
    api(server, e.method, e.path(fixture), { ...e.body, ...opts });

  describe.each(ENDPOINTS.map((e) => [e.name, e] as const))('%s', (_name, e) => {
    it('anonymous: 401 {"detail": "Not authenticated"} with WWW-Authenticate: Bearer', async () => {
      const res = await call(e);
      expectDetail(res, 401, 'Not authenticated');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('a bad token of every kind: 401 {"detail": "Not authenticated"}', async () => {
      for (const [kind, token] of Object.entries(badTokens)) {
        const res = await call(e, { token });
        expect(res.status, kind).toBe(401);
        expectDetail(res, 401, 'Not authenticated');
      }
    });

    it('a malformed Authorization header: 401', async () => {
      for (const h of [`Token ${a.token}`, 'Bearer', 'Bearer ', a.token, `Basic ${Buffer.from('a:b').toString('base64')}`]) {
        expectDetail(await call(e, { headers: { authorization: h } }), 401, 'Not authenticated');
      }
    });

    it('anonymous with a body or parameters that do not fit: still 401, authentication comes first', async () => {
      const broken = { ...e.body, raw: '{"receiver_id": ', headers: { 'content-type': 'application/json' } };
      delete (broken as { json?: unknown }).json;
      delete (broken as { form?: unknown }).form;
      const path = e.path(fixture).replace(/\/\d+(?=\/|$|\?)/, '/abc').replace(/page=1/, 'page=0').replace(/email=[^&]*&/, '');
      const res = await api(server, e.method, path, e.method === 'GET' || e.method === 'DELETE' ? {} : broken);
      expectDetail(res, 401, 'Not authenticated');
    });

    if (e.outsider) {
      it(`an outsider: 404 "${e.outsider}", the same as for an id that does not exist`, async () => {
        const [outsider] = await users(server, 1);
        const res = await call(e, { token: outsider.token });
        expectDetail(res, 404, e.outsider!);
        const missing = await api(server, e.method, e.path({ ...fixture, room: 987654321, message: 987654321 }), { ...e.body, token: outsider.token });
        expect({ status: missing.status, body: missing.body }).toEqual({ status: res.status, body: res.body });
      });

      it('an outsider of another tenant: the same 404', async () => {
        const outsider = await newUser(server, { tenantId: randomUUID() });
        expectDetail(await call(e, { token: outsider.token }), 404, e.outsider!);
      });
    }
  });

  it('nothing the refused requests tried happened', async () => {
    const history = await chatHistory(server, a, fixture.room);
    expect(history.total).toBe(1);
    expect(history.messages[0]).toMatchObject({ content: 'guarded', is_deleted: false, is_edited: false, like_count: 0 });
    const rooms = await api(server, 'GET', '/api/chat/rooms', { token: a.token });
    expect(rooms.body.rooms.map((r: any) => r.id)).toEqual([fixture.room]);
    // a never read anything that was unread for a, nor b: b still has one unread.
    const unread = await api(server, 'GET', '/api/chat/unread-count', { token: b.token });
    expect(unread.body.unread_counts).toEqual({ [String(fixture.room)]: 1 });
  });

  it('the participants themselves pass every endpoint (the matrix refuses only the others)', async () => {
    for (const e of ENDPOINTS) {
      if (e.method === 'DELETE' || e.method === 'PUT') continue; // would change the fixture; covered in edit-delete
      const token = e.name === 'POST rooms' ? a.token : b.token;
      const res = e.name === 'POST rooms' ? await api(server, 'POST', '/api/chat/rooms', { token, json: { receiver_id: b.user.id } }) : await call(e, { token });
      expect(res.status, e.name).toBe(200);
    }
    // Undo the like of the loop (it toggles).
    expect((await api(server, 'POST', `/api/chat/messages/${fixture.message}/like`, { token: b.token })).body.like_count).toBe(0);
  });

  describe('the socket', () => {
    const open = async (query: string) => {
      const s = new TestSocket(new WebSocket(`${server.wsUrl}/api/chat/ws${query}`));
      await s.opened;
      return s;
    };

    it('no token: closed with 4001', async () => {
      expect((await (await open('')).closed).code).toBe(4001);
      expect((await (await open(`?room_id=${fixture.room}`)).closed).code).toBe(4001);
      expect((await (await open('?token=')).closed).code).toBe(4001);
    });

    it('a bad token of every kind: closed with 4001', async () => {
      for (const [kind, token] of Object.entries(badTokens)) {
        const s = await open(`?token=${encodeURIComponent(token)}&room_id=${fixture.room}`);
        expect((await s.closed).code, kind).toBe(4001);
        expect(s.all('new_message'), kind).toEqual([]);
      }
    });

    it('room_id of someone else\'s room, of no room, or not an id: closed with 4003', async () => {
      const [outsider] = await users(server, 1);
      for (const room of [String(fixture.room), '987654321', 'abc', '-1', '1.5']) {
        const s = await open(`?token=${encodeURIComponent(outsider.token)}&room_id=${room}`);
        expect((await s.closed).code, room).toBe(4003);
      }
      const elsewhere = await newUser(server, { tenantId: randomUUID() });
      expect((await (await open(`?token=${encodeURIComponent(elsewhere.token)}&room_id=${fixture.room}`)).closed).code).toBe(4003);
    });

    it('an outsider\'s socket never sees the room: 4003, and its frames are not acted on', async () => {
      const [outsider] = await users(server, 1);
      const s = new TestSocket(new WebSocket(`${server.wsUrl}/api/chat/ws?token=${encodeURIComponent(outsider.token)}&room_id=${fixture.room}`));
      // Sent before the server could refuse: queued until authentication is done, then dropped with the socket.
      s.ws.once('open', () => s.send({ type: 'send_message', data: { room_id: fixture.room, message_type: 'text', content: 'sneaky' } }));
      expect((await s.closed).code).toBe(4003);
      expect(s.all('new_message')).toEqual([]);
      expect(await historyTotal(server, a, fixture.room)).toBe(1);
    });

    it('logout closes the user\'s open sockets with 4001, and the token no longer opens one', async () => {
      const [u, v] = await users(server, 2);
      const room = await newRoom(server, u, v);
      const s1 = await chatSocket(server, u, room);
      const s2 = await chatSocket(server, u);
      expect((await api(server, 'POST', '/api/auth/logout', { token: u.token })).status).toBe(200);
      expect((await s1.closed).code).toBe(4001);
      expect((await s2.closed).code).toBe(4001);
      const again = await open(`?token=${encodeURIComponent(u.token)}&room_id=${room}`);
      expect((await again.closed).code).toBe(4001);
    });

    it('the participants\' sockets open and stay open', async () => {
      const s = await chatSocket(server, b, fixture.room);
      await settle(s, 50);
      expect(s.ws.readyState).toBe(s.ws.OPEN);
    });
  });
});
