import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, chatSocket, newUser, openSocket, pair } from '../helpers/clients.js';

// POST /api/auth/logout revokes the token (a per-user token version) and closes that
// user's sockets with 4001; a new login works.

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

describe.each(databases)('logout on %s', (db) => {
  const server = useParley({ db });

  it('revokes the token, closes the user\'s sockets with 4001 within 1 s, leaves others alone; a new login works', async () => {
    const { a, b, room } = await pair(server);
    const inRoom = await chatSocket(server, a, room);
    const noRoom = await chatSocket(server, a);
    const other = await chatSocket(server, b, room);

    const out = await api(server, 'POST', '/api/auth/logout', { token: a.token });
    expect(out.status).toBe(200);
    const started = Date.now();
    for (const s of [inRoom, noRoom]) expect((await within(s.closed, 1000, 'socket close')).code).toBe(4001);
    expect(Date.now() - started).toBeLessThan(1000);

    // The token is dead everywhere.
    const me = await api(server, 'GET', '/api/auth/me', { token: a.token });
    expect(me.status).toBe(401);
    expect(me.body).toEqual({ detail: 'Not authenticated' });
    expect((await api(server, 'GET', '/api/chat/rooms', { token: a.token })).status).toBe(401);
    expect((await api(server, 'POST', '/api/auth/logout', { token: a.token })).status).toBe(401);
    const late = await openSocket(`${server.wsUrl}/api/chat/ws?token=${encodeURIComponent(a.token)}&room_id=${room}`);
    expect((await within(late.closed, 1000, 'refused socket close')).code).toBe(4001);

    // The other user's socket is untouched.
    other.send({ type: 'ping' });
    await other.next('pong');

    // A new login gets a working token and socket.
    const login = await api(server, 'POST', '/api/auth/login', { json: { email: a.user.email, password: a.password } });
    expect(login.status).toBe(200);
    const fresh = login.body.access_token as string;
    expect(fresh).not.toBe(a.token);
    expect((await api(server, 'GET', '/api/auth/me', { token: fresh })).body).toEqual(a.user);
    const again = await chatSocket(server, { ...a, token: fresh }, room);
    other.send({ type: 'send_message', data: { room_id: room, content: 'welcome back', local_temp_id: 'wb' } });
    await again.next('new_message', { where: (f) => f.data.content === 'welcome back' });
    for (const s of [again, other]) s.close();
  });

  it('revokes every token of the user (each device\'s login), and only that user\'s', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    const second = (await api(server, 'POST', '/api/auth/login', { json: { email: a.user.email, password: a.password } })).body.access_token;
    expect((await api(server, 'GET', '/api/auth/me', { token: second })).status).toBe(200);
    const onSecond = await chatSocket(server, { ...a, token: second });

    expect((await api(server, 'POST', '/api/auth/logout', { token: a.token })).status).toBe(200);
    expect((await within(onSecond.closed, 1000, 'second device close')).code).toBe(4001);
    expect((await api(server, 'GET', '/api/auth/me', { token: second })).status).toBe(401);
    expect((await api(server, 'GET', '/api/auth/me', { token: b.token })).status).toBe(200);
  });

  it('without a token is 401', async () => {
    const res = await api(server, 'POST', '/api/auth/logout');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: 'Not authenticated' });
  });
});
