import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, newRedisPrefix, redisUrl } from '../contract/redis.js';
import { api, chatSocket, newRoom, type TestUser } from '../helpers/clients.js';
import { runParleyCli } from '../helpers/cli.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';

// The operator's side of accounts (issue 14 items 3 and 13): `parley user add --admin`,
// `parley invite create`, `parley user reset-password`, run against a live server's database
// (and, with REDIS_URL, its bus: a reset closes the user's open sockets at once).


describe('parley user / invite commands', () => {
  let server: TestServer;
  const prefix = newRedisPrefix('cli');
  const shared: Record<string, string> = redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: prefix } : {};
  beforeAll(async () => {
    server = await startParley({ db: hasPostgres ? 'postgres' : 'sqlite', env: { REGISTRATION: 'invite', ...shared } });
  });
  afterAll(async () => {
    await server.close();
    if (redisUrl) await dropPrefix(redisUrl, prefix);
  });

  const parley = (...args: string[]) => runParleyCli(server.data, args, shared);

  const login = (email: string, password: string, tenant_id?: string) => api(server, 'POST', '/api/auth/login', { json: { email, password, ...(tenant_id ? { tenant_id } : {}) } });

  it('invite create prints a code that registers one user into its (new) tenant, who is its admin', { timeout: 60_000 }, async () => {
    const tenant = randomUUID();
    const r = await parley('invite', 'create', '--tenant', tenant, '--ttl', '600', '--email', 'Ines@Example.com');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ code: expect.stringMatching(/^inv_/), tenant_id: tenant, email: 'ines@example.com' });
    expect(Date.parse(out.expires_at) - Date.now()).toBeGreaterThan(500_000);
    const reg = await api(server, 'POST', '/api/auth/register', { json: { email: 'ines@example.com', password: 'correct horse', name: 'Ines', invite: out.code } });
    expect(reg.status).toBe(201);
    expect(reg.body.user.tenant_id).toBe(tenant);
    expect((await api(server, 'POST', '/api/auth/invites', { token: reg.body.access_token, json: {} })).status).toBe(201);
    expect((await api(server, 'POST', '/api/auth/register', { json: { email: 'ines2@example.com', password: 'correct horse', name: 'I2', invite: out.code } })).status).toBe(403);
  });

  it('user add --admin makes an admin of an existing tenant; without it, a member', { timeout: 60_000 }, async () => {
    const tenant = randomUUID();
    const first = await parley('user', 'add', '--email', `first-${tenant}@example.com`, '--password', 'first password', '--name', 'First', '--tenant', tenant);
    expect(JSON.parse(first.stdout)).toMatchObject({ tenant_id: tenant, tenant_role: 'admin' });
    const member = await parley('user', 'add', '--email', `member-${tenant}@example.com`, '--password', 'member password', '--name', 'Member', '--tenant', tenant);
    expect(JSON.parse(member.stdout)).toMatchObject({ tenant_role: 'member' });
    const admin = await parley('user', 'add', '--email', `admin-${tenant}@example.com`, '--password', 'admin password', '--name', 'Admin', '--tenant', tenant, '--admin');
    expect(JSON.parse(admin.stdout)).toMatchObject({ tenant_role: 'admin' });
    const token = (await login(`admin-${tenant}@example.com`, 'admin password', tenant)).body.access_token;
    expect((await api(server, 'POST', '/api/auth/invites', { token, json: {} })).status).toBe(201);
  });

  it('user reset-password: a generated password is printed, the old one and every token stop working', { timeout: 60_000 }, async () => {
    const tenant = randomUUID();
    const email = `reset-${tenant}@example.com`;
    await parley('user', 'add', '--email', email, '--password', 'old password', '--name', 'Reset', '--tenant', tenant);
    await parley('user', 'add', '--email', `peer-${tenant}@example.com`, '--password', 'peer password', '--name', 'Peer', '--tenant', tenant);
    const s1 = await login(email, 'old password', tenant);
    const peer = await login(`peer-${tenant}@example.com`, 'peer password', tenant);
    const u: TestUser = { token: s1.body.access_token, user: s1.body.user, password: 'old password' };
    const p: TestUser = { token: peer.body.access_token, user: peer.body.user, password: 'peer password' };
    const room = await newRoom(server, u, p);
    const sock = await chatSocket(server, u, room);

    const r = await parley('user', 'reset-password', '--email', email, '--tenant', tenant);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ email, tenant_id: tenant, sessions_revoked: true, password: expect.any(String) });
    expect(out.password.length).toBeGreaterThanOrEqual(16);
    expect((await api(server, 'GET', '/api/auth/me', { token: u.token })).status).toBe(401);
    expect((await login(email, 'old password', tenant)).status).toBe(401);
    expect((await login(email, out.password, tenant)).status).toBe(200);
    if (redisUrl) expect((await sock.closed).code).toBe(4001);
    else {
      expect(r.stderr).toMatch(/sockets already open .* stay open until they reconnect/);
      sock.close();
    }

    const given = await parley('user', 'reset-password', '--email', email, '--tenant', tenant, '--password', 'chosen password');
    expect(JSON.parse(given.stdout).password).toBeUndefined();
    expect((await login(email, 'chosen password', tenant)).status).toBe(200);
    const unknown = await parley('user', 'reset-password', '--email', `nobody-${tenant}@example.com`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/User not found|user not found/);
  });
  it('operator grant makes a user an operator over every tenant; revoke takes it back', { timeout: 60_000 }, async () => {
    const tenant = randomUUID();
    const email = `op-${tenant}@example.com`;
    expect((await parley('user', 'add', '--email', email, '--password', 'operator password', '--name', 'Op', '--tenant', tenant)).code).toBe(0);
    const token = (await login(email, 'operator password', tenant)).body.access_token;
    const tenants = () => api(server, 'GET', '/api/parley/admin/tenants', { token });
    expect((await tenants()).status).toBe(403);
    const granted = await parley('operator', 'grant', '--email', email, '--tenant', tenant);
    expect(granted.code, granted.stderr).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ email, tenant_id: tenant, is_operator: true });
    expect((await tenants()).status).toBe(200);
    // An operator acts in another tenant.
    expect((await api(server, 'GET', `/api/parley/admin/users?tenant=00000000-0000-7000-8000-000000000001`, { token })).status).toBe(200);
    expect((await parley('operator', 'revoke', '--email', email, '--tenant', tenant)).code).toBe(0);
    expect((await tenants()).status).toBe(403);
    expect((await parley('operator', 'grant', '--email', `nobody-${tenant}@example.com`)).code).not.toBe(0);
  });
});
