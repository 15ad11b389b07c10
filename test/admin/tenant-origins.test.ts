import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { api, openSocket } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';
import { P, adminCall } from './support.js';

// A tenant's allowed_origins (issue 20) in force: once a tenant names its pages, only they (and
// the server's own) act for its users, over REST, sockets, login and registration; a tenant that
// names none keeps ALLOWED_ORIGINS. A page one tenant lists gives no other tenant's users a way in.

const OPERATORS = 'https://operator.example.test';
const EVIL = 'https://evil.example.test';

/** The HTTP status that refuses an upgrade, or 101 when the socket opens. */
const upgrade = (url: string, origin: string) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers: { origin } });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', () => {});
  });

const me = (server: TestServer, token: string, origin?: string) => api(server, 'GET', `${P}/me`, { token, headers: origin ? { origin } : {} });
const acao = (r: { headers: Headers }) => r.headers.get('access-control-allow-origin');

describe.each(databases)("a tenant's allowed origins on %s", (db) => {
  const server = useParley({ db, env: { ALLOWED_ORIGINS: OPERATORS, REGISTRATION: 'open' } });
  /** A tenant whose admins list their own page, one member, and a tenant without a list. */
  async function tenants() {
    const listing = await tenant(server, 1);
    const page = `https://t-${listing.tenantId.slice(0, 8)}.example.test`;
    await adminCall(server, listing.admin, 'PATCH', '/settings', 200, { allowed_origins: [page] });
    return { listing, page, other: await tenant(server, 1) };
  }

  it("REST: the tenant's page in (with CORS), the operator's page refused 403; another tenant keeps ALLOWED_ORIGINS", async () => {
    const { listing, page, other } = await tenants();
    const member = listing.members[0].token;
    const mine = await me(server, member, page);
    expect(mine.status).toBe(200);
    expect(acao(mine)).toBe(page);
    for (const origin of [OPERATORS, EVIL]) {
      const refused = await me(server, member, origin);
      expect(refused.status, origin).toBe(403);
      expect(refused.body).toMatchObject({ detail: 'Origin not allowed' });
      expect(acao(refused), 'no CORS answer for a page the tenant does not list').toBeNull();
    }
    // Not a browser, and the server's own page: never the tenant's to refuse.
    expect((await me(server, member)).status).toBe(200);
    expect((await me(server, member, server.url)).status).toBe(200);
    // A write too (the admin's own settings): refused from a page the tenant does not list.
    expect((await api(server, 'PATCH', `${P}/admin/settings`, { token: listing.admin.token, json: { allowed_origins: null }, headers: { origin: OPERATORS } })).status).toBe(403);

    // Another tenant: the operator's page as before; the first tenant's page is not its own.
    const theirs = other.members[0].token;
    const byOperator = await me(server, theirs, OPERATORS);
    expect([byOperator.status, acao(byOperator)]).toEqual([200, OPERATORS]);
    const byListed = await me(server, theirs, page);
    expect(byListed.status, 'ALLOWED_ORIGINS withholds CORS, it does not refuse').toBe(200);
    expect(acao(byListed), "another tenant's page gets no CORS answer for this one's users").toBeNull();

    // A preflight carries no token: a page some tenant lists is answered, the request decides.
    const preflight = (origin: string) => fetch(`${server.url}${P}/me`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const listedPreflight = await preflight(page);
    expect([listedPreflight.status, acao(listedPreflight)]).toEqual([204, page]);
    expect(listedPreflight.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await preflight(EVIL)).status).toBe(403);

    // The list cleared: ALLOWED_ORIGINS decides for the tenant again.
    await adminCall(server, listing.admin, 'PATCH', '/settings', 200, { allowed_origins: null });
    expect(acao(await me(server, member, OPERATORS))).toBe(OPERATORS);
    const stale = await me(server, member, page);
    expect([stale.status, acao(stale)]).toEqual([200, null]);
  });

  it('sockets: the upgrade is refused from a page the tenant does not list, also when the token comes in the first frame', async () => {
    const { listing, page, other } = await tenants();
    const member = listing.members[0].token;
    const ws = (token: string) => `${server.wsUrl}${P}/ws?token=${encodeURIComponent(token)}`;
    expect(await upgrade(ws(member), page)).toBe(101);
    expect(await upgrade(ws(member), OPERATORS)).toBe(403);
    expect(await upgrade(ws(other.members[0].token), OPERATORS)).toBe(101);
    expect(await upgrade(ws(other.members[0].token), page), "another tenant's page").toBe(403);
    expect(await upgrade(`${server.wsUrl}/api/chat/ws?token=${member}`, OPERATORS), 'every dialect').toBe(403);

    // No token at the upgrade: the operator's page may open it, the first frame's user is then refused.
    const late = await openSocket(`${server.wsUrl}${P}/ws`, { headers: { origin: OPERATORS } });
    late.send({ type: 'auth', token: member });
    expect((await late.closed).code).not.toBe(1000);
    const own = await openSocket(`${server.wsUrl}${P}/ws`, { headers: { origin: page } });
    own.send({ type: 'auth', token: member });
    await own.next('ready');
  });

  it('login and registration: the tenant the request names decides', async () => {
    const { listing, page } = await tenants();
    const account = { email: `${randomUUID().slice(0, 8)}@example.com`, password: 'long-enough-password', name: 'Newcomer', tenant_id: listing.tenantId };
    const register = (origin: string) => api(server, 'POST', `${P}/auth/register`, { json: account, headers: { origin } });
    const refused = await register(OPERATORS);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ detail: 'Origin not allowed' });
    expect((await register(page)).status).toBe(201);
    const login = (origin: string) => api(server, 'POST', '/api/auth/login', { json: { email: account.email, password: account.password, tenant_id: listing.tenantId }, headers: { origin } });
    expect((await login(OPERATORS)).status).toBe(403);
    expect((await login(page)).status).toBe(200);
  });
});
