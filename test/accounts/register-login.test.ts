import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { useParley, startParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api } from '../helpers/clients.js';

// DESIGN.md "Accounts and tokens": the fixed contract every test relies on.

const DEFAULT_TENANT = '00000000-0000-7000-8000-000000000001';
let n = 0;
const email = (tag = 'u') => `${tag}${++n}-${process.pid}-${Date.now()}@example.com`;

const sessionShape = {
  access_token: expect.any(String),
  token_type: 'bearer',
  user: {
    id: expect.any(Number),
    uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    name: expect.any(String),
    email: expect.any(String),
    avatar_url: null,
    tenant_id: expect.any(String),
  },
};

describe.each(databases)('register and login on %s', (db) => {
  const server = useParley({ db });

  const register = (json: unknown) => api(server, 'POST', '/api/auth/register', { json });
  const login = (json: unknown) => api(server, 'POST', '/api/auth/login', { json });
  const me = (token: string) => api(server, 'GET', '/api/auth/me', { token });

  it('register: 201 with a bearer token and the user, in the default tenant', async () => {
    const e = email();
    const res = await register({ email: e, password: 'correct horse', name: 'Ada' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual(sessionShape);
    expect(res.body.user).toMatchObject({ name: 'Ada', email: e, tenant_id: DEFAULT_TENANT });
    expect(Number.isInteger(res.body.user.id) && res.body.user.id > 0).toBe(true);
    // The token is a JWT carrying sub (the user's uuid), tid (the tenant uuid) and exp.
    const claims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: res.body.user.uuid, tid: DEFAULT_TENANT, exp: expect.any(Number) });

    const other = await register({ email: email(), password: 'another pass', name: 'Bea' });
    expect(other.body.user.tenant_id).toBe(DEFAULT_TENANT);
    expect(other.body.user.id).not.toBe(res.body.user.id);
    expect(other.body.user.uuid).not.toBe(res.body.user.uuid);
  });

  it('a new tenant_id creates that tenant; later registrations join it', async () => {
    const tenant = randomUUID();
    const first = await register({ email: email(), password: 'password-1', name: 'First', tenant_id: tenant });
    expect(first.status).toBe(201);
    expect(first.body).toEqual(sessionShape);
    expect(first.body.user.tenant_id).toBe(tenant);
    const second = await register({ email: email(), password: 'password-2', name: 'Second', tenant_id: tenant });
    expect(second.status).toBe(201);
    expect(second.body.user.tenant_id).toBe(tenant);
    expect((await me(second.body.access_token)).body.tenant_id).toBe(tenant);
  });

  it('the same email twice in a tenant is 409 {detail}, whatever its case; in another tenant it is fine', async () => {
    const e = email('dup');
    expect((await register({ email: e, password: 'password-1', name: 'One' })).status).toBe(201);
    const again = await register({ email: e, password: 'password-2', name: 'Two' });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ detail: expect.any(String) });
    const shouted = await register({ email: e.toUpperCase(), password: 'password-2', name: 'Two' });
    expect(shouted.status).toBe(409);

    const tenant = randomUUID();
    const elsewhere = await register({ email: e, password: 'password-3', name: 'Three', tenant_id: tenant });
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.user).toMatchObject({ email: e, tenant_id: tenant });
    expect((await register({ email: e, password: 'password-4', name: 'Four', tenant_id: tenant })).status).toBe(409);
  });

  it('login: 200 with the same shape; the tenant picks which account', async () => {
    const e = email('login');
    const reg = await register({ email: e, password: 'default pass', name: 'Default' });
    const tenant = randomUUID();
    const regT = await register({ email: e, password: 'tenant pass', name: 'Tenant', tenant_id: tenant });

    const res = await login({ email: e, password: 'default pass' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(sessionShape);
    expect(res.body.user).toEqual(reg.body.user);
    expect((await me(res.body.access_token)).body).toEqual(reg.body.user);

    const resT = await login({ email: e, password: 'tenant pass', tenant_id: tenant });
    expect(resT.status).toBe(200);
    expect(resT.body.user).toEqual(regT.body.user);
    // Email is case-insensitive; each tenant's password is its own.
    expect((await login({ email: e.toUpperCase(), password: 'default pass' })).status).toBe(200);
    expect((await login({ email: e, password: 'tenant pass' })).status).toBe(401);
    expect((await login({ email: e, password: 'default pass', tenant_id: tenant })).status).toBe(401);
  });

  it('login: wrong password, unknown email or unknown tenant is 401 {detail}', async () => {
    const e = email('bad');
    await register({ email: e, password: 'right password', name: 'X' });
    for (const body of [
      { email: e, password: 'wrong password' },
      { email: email('nobody'), password: 'right password' },
      { email: e, password: 'right password', tenant_id: randomUUID() },
    ]) {
      const res = await login(body);
      expect(res.status, JSON.stringify(body)).toBe(401);
      expect(res.body).toEqual({ detail: expect.any(String) });
    }
  });

  it('GET /api/auth/me: the user of the token; no token or a bad one is 401 {"detail": "Not authenticated"}', async () => {
    const reg = await register({ email: email(), password: 'password-x', name: 'Me' });
    const res = await me(reg.body.access_token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(reg.body.user);

    const none = await api(server, 'GET', '/api/auth/me');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ detail: 'Not authenticated' });
    for (const token of ['garbage', reg.body.access_token.slice(0, -4) + 'AAAA', reg.body.access_token + 'x']) {
      const bad = await me(token);
      expect(bad.status).toBe(401);
      expect(bad.body).toEqual({ detail: 'Not authenticated' });
    }
    const notBearer = await api(server, 'GET', '/api/auth/me', { headers: { authorization: `Basic ${reg.body.access_token}` } });
    expect(notBearer.status).toBe(401);
  });

  it('a token is refused when forged: alg none, another secret, a tampered subject', async () => {
    const victim = await register({ email: email(), password: 'password-v', name: 'Victim' });
    const attacker = await register({ email: email(), password: 'password-a', name: 'Attacker' });
    const [h, p, sig] = attacker.body.access_token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const asVictim = { ...claims, sub: victim.body.user.uuid };
    const forged = [
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(asVictim)}.`,
      `${h}.${b64(asVictim)}.${sig}`,
      await new SignJWT(asVictim).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('not-the-server-secret-but-long-enough-0123')),
    ];
    for (const token of forged) expect((await me(token)).status).toBe(401);
    expect((await me(attacker.body.access_token)).body.id).toBe(attacker.body.user.id);
  });

  it('a token past its exp is refused', async (t) => {
    const short = await startParley(t, { db, env: { JWT_TTL_SECONDS: '0' } });
    const reg = await api(short, 'POST', '/api/auth/register', { json: { email: email(), password: 'password-e', name: 'Expired' } });
    expect(reg.status).toBe(201);
    const res = await api(short, 'GET', '/api/auth/me', { token: reg.body.access_token });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: 'Not authenticated' });
  });

  it('bad input is 422 {detail}: short password, missing fields, wrong types, bad email, bad tenant, bad JSON', async () => {
    const ok = { email: email('v'), password: 'long enough', name: 'Valid' };
    const cases: [string, unknown][] = [
      ['short password', { ...ok, password: 'short' }],
      ['missing email', { password: ok.password, name: ok.name }],
      ['missing password', { email: ok.email, name: ok.name }],
      ['missing name', { email: ok.email, password: ok.password }],
      ['empty body', {}],
      ['email not a string', { ...ok, email: 12345 }],
      ['password not a string', { ...ok, password: 123456789 }],
      ['name not a string', { ...ok, name: { first: 'x' } }],
      ['tenant_id not a uuid', { ...ok, tenant_id: 'acme' }],
      ['tenant_id not a string', { ...ok, tenant_id: 42 }],
      ['email without @', { ...ok, email: 'not-an-email' }],
      ['blank name', { ...ok, name: '   ' }],
      ['body is an array', [ok]],
    ];
    for (const [label, body] of cases) {
      const res = await register(body);
      expect(res.status, `register: ${label}`).toBe(422);
      expect(res.body, `register: ${label}`).toEqual({ detail: expect.any(String) });
    }
    const raw = await api(server, 'POST', '/api/auth/register', { raw: '{"email": ' });
    expect(raw.status).toBe(422);
    expect(raw.body).toEqual({ detail: expect.any(String) });

    for (const [label, body] of [
      ['missing password', { email: ok.email }],
      ['missing email', { password: ok.password }],
      ['password not a string', { email: ok.email, password: 12345678 }],
      ['tenant_id not a uuid', { email: ok.email, password: ok.password, tenant_id: 'acme' }],
    ] as const) {
      const res = await login(body);
      expect(res.status, `login: ${label}`).toBe(422);
      expect(res.body, `login: ${label}`).toEqual({ detail: expect.any(String) });
    }
    // Nothing was created by the refused registrations.
    expect((await login({ email: ok.email, password: ok.password })).status).toBe(401);
  });
});
