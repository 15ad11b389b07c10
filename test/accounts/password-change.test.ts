import { describe, expect, it } from 'vitest';
import { api, chatSocket, newUser, type TestUser, pair } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';

// Issue 14 item 13: users change their own password. POST /api/auth/password
// {"current_password","new_password"} (and /api/parley/auth/password) checks the current one,
// ends every other session (tokens revoked, sockets closed) and returns a fresh session.

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

const change = (server: { url: string }, u: TestUser, current: string, next: string) =>
  api(server, 'POST', '/api/auth/password', { token: u.token, json: { current_password: current, new_password: next } });
const login = (server: { url: string }, u: TestUser, password: string) => api(server, 'POST', '/api/auth/login', { json: { email: u.user.email, password } });

describe.each(databases)('changing a password on %s', (db) => {
  const server = useParley({ db, env: { RATE_LOGIN_ACCOUNT_FAILURES: '5/1m' } });

  it('the right current password: a fresh session; every other session ends, sockets closed; only the new password logs in', async () => {
    const { a, room } = await pair(server);
    const otherDevice = (await login(server, a, a.password)).body.access_token as string;
    const sock = await chatSocket(server, { ...a, token: otherDevice }, room);

    const r = await change(server, a, a.password, 'a brand new password');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ access_token: expect.any(String), token_type: 'bearer', user: a.user });
    expect((await within(sock.closed, 2000, 'the other device\'s socket close')).code).toBe(4001);
    for (const old of [a.token, otherDevice]) expect((await api(server, 'GET', '/api/auth/me', { token: old })).status).toBe(401);
    const fresh = r.body.access_token as string;
    expect((await api(server, 'GET', '/api/auth/me', { token: fresh })).body).toEqual(a.user);
    // A socket opened with the fresh token stays open.
    const again = await chatSocket(server, { ...a, token: fresh }, room);
    again.send({ type: 'ping' });
    await again.next('pong');
    again.close();
    expect((await login(server, a, a.password)).status).toBe(401);
    expect((await login(server, a, 'a brand new password')).status).toBe(200);
  });

  it('a wrong current password: 400 {"detail"}, nothing changes; too many are throttled like logins', async () => {
    const u = await newUser(server);
    const r = await change(server, u, 'not my password', 'another new password');
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ detail: 'Current password is incorrect' });
    expect((await api(server, 'GET', '/api/auth/me', { token: u.token })).status).toBe(200);
    expect((await login(server, u, u.password)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await change(server, u, 'guess ' + i, 'another new password')).status);
    expect(statuses).toEqual([400, 400, 400, 400, 429]);
  });

  it('bad input is 422 {"detail"}; no token is 401', async () => {
    const u = await newUser(server);
    for (const json of [{ current_password: u.password, new_password: 'short' }, { current_password: u.password }, { new_password: 'long enough now' }, { current_password: 5, new_password: 'long enough now' }]) {
      const r = await api(server, 'POST', '/api/auth/password', { token: u.token, json });
      expect(r.status, JSON.stringify(json)).toBe(422);
      expect(r.body).toEqual({ detail: expect.any(String) });
    }
    expect((await api(server, 'POST', '/api/auth/password', { json: { current_password: u.password, new_password: 'long enough now' } })).status).toBe(401);
    expect((await login(server, u, u.password)).status).toBe(200);
  });

  it('/api/parley/auth/password: the same, in Parley\'s shape', async () => {
    const u = await newUser(server);
    const r = await api(server, 'POST', '/api/parley/auth/password', { token: u.token, json: { current_password: u.password, new_password: 'parley new password' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token: expect.any(String), token_type: 'bearer', user: { id: u.user.id } });
    expect((await api(server, 'GET', '/api/parley/me', { token: u.token })).status).toBe(401);
    expect((await api(server, 'GET', '/api/parley/me', { token: r.body.token })).status).toBe(200);
    const wrong = await api(server, 'POST', '/api/parley/auth/password', { token: r.body.token, json: { current_password: 'nope nope', new_password: 'parley newer password' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ detail: 'Current password is incorrect', code: 'wrong_password' });
  });
});
