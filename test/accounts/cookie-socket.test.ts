// The token cookie (AUTH_COOKIE): login and register hand it out, HttpOnly; a socket
// handshake with no token of its own takes it, but only from a page the server trusts (its
// own origin or one ALLOWED_ORIGINS names), since a browser attaches a cookie to requests
// from every site. REST never takes it (no CSRF). Document 003's React client needs it: it
// opens `new WebSocket(ws://…/ws/chat/${tenantId}/)` with no token and sends join first.
import { beforeAll, describe, expect, it } from 'vitest';
import { api, cookieOf, newUser, TOKEN_COOKIE, openSocket, type TestUser } from '../helpers/clients.js';
import { useUsers } from '../helpers/dialects.js';
import { startParley, useParley, type TestServer } from '../helpers/parley.js';
import { conversationWith, join, nextError } from '../dialects/notifications/support.js';


describe('the token cookie on socket handshakes', () => {
  const server = useParley({ env: { ALLOWED_ORIGINS: 'http://app.example' } });
  const open = useParley({ env: { ALLOWED_ORIGINS: '*' } });
  const [ada, bob] = useUsers(server, 2, { names: ['Ada', 'Bob'] });
  let conv: string;
  beforeAll(async () => {
    conv = await conversationWith(server, ada, [bob]);
  });

  const ws003 = (s: TestServer, u: TestUser, headers: Record<string, string>) => openSocket(`${s.wsUrl}/ws/chat/${u.user.tenant_id}/`, { headers });
  const cookie = (token: string) => ({ cookie: `other=1; ${TOKEN_COOKIE}=${token}` });

  it('login and register set it HttpOnly, SameSite=Strict, for the token they return; logout clears it', async () => {
    const reg = await api(server, 'POST', '/api/auth/register', { json: { email: `c-${Date.now()}@example.com`, password: 'correct horse', name: 'Cy' } });
    expect(reg.status).toBe(201);
    const set = reg.headers.get('set-cookie');
    expect(cookieOf(set)).toBe(reg.body.access_token);
    expect(set).toMatch(/HttpOnly/i);
    // Strict (issue 14 item 13): no request another site's page makes carries it.
    expect(set).toMatch(/SameSite=Strict/i);
    expect(set).toMatch(/Path=\//);
    const login = await api(server, 'POST', '/api/auth/login', { json: { email: reg.body.user.email, password: 'correct horse' } });
    expect(cookieOf(login.headers.get('set-cookie'))).toBe(login.body.access_token);
    const out = await api(server, 'POST', '/api/auth/logout', { token: login.body.access_token });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(new RegExp(`${TOKEN_COOKIE}=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)`, 'i'));
  });

  it("document 003's socket: a cookie alone authenticates, and join, send and receive work", async () => {
    const sa = await ws003(server, ada, cookie(ada.token));
    expect((await sa.next('connection_established')).user_id).toBe(ada.user.uuid);
    await join(sa, conv);
    const sb = await ws003(server, bob, { ...cookie(bob.token), origin: 'http://app.example' });
    expect((await sb.next('connection_established')).user_id).toBe(bob.user.uuid);
    await join(sb, conv);
    sa.send({ type: 'send_message', conversation_id: conv, content: 'by cookie', message_type: 'text' });
    expect((await sb.next('new_message')).message).toMatchObject({ content: 'by cookie', sender_id: ada.user.uuid });
    sa.close();
    sb.close();
  });

  it("from the server's own origin too; the first frame is handled after authentication, not eaten by it", async () => {
    const s = await ws003(server, ada, { ...cookie(ada.token), origin: server.url });
    // What the React example does on open: join at once, no token anywhere.
    s.send({ type: 'join_conversation', conversation_id: conv });
    expect((await s.next('connection_established')).user_id).toBe(ada.user.uuid);
    expect((await s.next('conversation_joined')).conversation_id).toBe(conv);
    s.close();
  });

  it('a page on an origin allowed only by `*` may connect but not borrow the cookie', async () => {
    const u = await newUser(open, { name: 'Eve target' });
    const s = await ws003(open, u, { ...cookie(u.token), origin: 'http://evil.example' });
    s.send({ type: 'join_conversation', conversation_id: conv });
    expect((await s.closed).code).toBe(4001);
    expect(s.all('connection_established')).toEqual([]);
  });

  it('a page on an origin not allowed at all is refused at the handshake', async () => {
    await expect(ws003(server, ada, { ...cookie(ada.token), origin: 'http://evil.example' })).rejects.toThrow(/403/);
  });

  it('REST never takes the cookie', async () => {
    const r = await api(server, 'GET', '/api/auth/me', { headers: cookie(ada.token) });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ detail: 'Not authenticated' });
  });

  it('a stale cookie does not hide a good token in the authenticate frame; a bad one alone is refused', async () => {
    const eve = await newUser(server, { name: 'Eve' });
    const stale = eve.token;
    await api(server, 'POST', '/api/auth/logout', { token: stale });
    const fresh = (await api(server, 'POST', '/api/auth/login', { json: { email: eve.user.email, password: eve.password } })).body.access_token;
    const s = await ws003(server, eve, cookie(stale));
    s.send({ type: 'authenticate', token: fresh });
    expect((await s.next('connection_established')).user_id).toBe(eve.user.uuid);
    s.close();
    const refused = await ws003(server, eve, cookie(stale));
    refused.send({ type: 'join_conversation', conversation_id: conv });
    expect((await refused.closed).code).toBe(4001);
  });

  it('an authenticate frame on a cookie-authenticated socket must name the same user', async () => {
    const s = await ws003(server, ada, cookie(ada.token));
    await s.next('connection_established');
    s.send({ type: 'authenticate', token: bob.token });
    expect((await nextError(s)).message).toBe('This connection is authenticated as another user');
    s.send({ type: 'authenticate', token: ada.token });
    expect((await s.next('authenticated')).user_id).toBe(ada.user.uuid);
    s.close();
  });

  it('the other sockets take it too: /api/chat/ws (000–002), 004 and /api/parley/ws', async () => {
    const room = await api(server, 'POST', '/api/chat/rooms', { token: ada.token, json: { receiver_id: bob.user.id } });
    const chat = await openSocket(`${server.wsUrl}/api/chat/ws?room_id=${room.body.id}`, { headers: cookie(ada.token) });
    chat.send({ type: 'ping' });
    await chat.next('pong');
    chat.close();
    const v1 = await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat`, { headers: cookie(ada.token) });
    v1.send({ type: 'ping' });
    await v1.next(null);
    v1.close();
    // 004 judges the token before the upgrade (its HTTP 401), so the foreign page's borrowed cookie is what it refuses.
    await expect(openSocket(`${server.wsUrl}/api/v1/chat/ws/chat`, { headers: { origin: 'http://evil.example', ...cookie(ada.token) } })).rejects.toThrow(/401/);
    const parley = await openSocket(`${server.wsUrl}/api/parley/ws`, { headers: cookie(ada.token) });
    expect((await parley.next('ready')).user.id).toBe(ada.user.id);
  });

  it('AUTH_COOKIE= (empty) turns it off: no cookie handed out, none taken', async (t) => {
    const off = await startParley(t, { env: { AUTH_COOKIE: '' } });
    const u = await newUser(off, { name: 'Nell' });
    const login = await api(off, 'POST', '/api/auth/login', { json: { email: u.user.email, password: u.password } });
    expect(login.headers.get('set-cookie')).toBeNull();
    const s = await ws003(off, u, cookie(u.token));
    s.send({ type: 'join_conversation', conversation_id: conv });
    expect((await s.closed).code).toBe(4001);
  });
});
