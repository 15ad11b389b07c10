import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { v5 as uuidv5 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';

// Issue 14 item 3 with an identity provider: "a local registration squats bob@acme.com before
// Bob's first login (Bob then gets 409 forever), and tenant ids derived from organisation
// names are predictable". Local registration is closed unless REGISTRATION is set, never
// creates a tenant, and the provider's users are matched by subject, never by e-mail.

const SECRET = 'the-application-shared-secret-0123456789';
const key = new TextEncoder().encode(SECRET);
const sign = (payload: JWTPayload) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + 3600).sign(key);
const me = (server: { url: string }, token: string) => api(server, 'GET', '/api/auth/me', { token });
// What Parley derives from a non-UUID tenant claim (src/core/accounts/accounts.ts): anyone can compute it.
const derivedTenant = (org: string) => uuidv5(org, '5b0f3c7e-2a4d-4f7e-9c1a-6d2b8e4f0a13');
const register = (server: { url: string }, body: Record<string, unknown>) =>
  api(server, 'POST', '/api/auth/register', { json: { password: 'squatter password', name: 'Squatter', ...body } });

describe.each(databases)('identity provider and local registration on %s', (db) => {
  let byDefault: TestServer;
  let explicit: TestServer;
  let open: TestServer;
  beforeAll(async () => {
    [byDefault, explicit, open] = await Promise.all([
      startParley({ db, env: { AUTH_HS256_SECRET: SECRET, REGISTRATION: '' } }),
      startParley({ db, env: { AUTH_HS256_SECRET: SECRET, REGISTRATION: 'default-tenant' } }),
      startParley({ db, env: { AUTH_HS256_SECRET: SECRET, REGISTRATION: 'open' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([byDefault.close(), explicit.close(), open.close()]);
  });

  it('with a provider configured, local registration is closed unless REGISTRATION says otherwise', async () => {
    const r = await register(byDefault, { email: `bob-${randomUUID()}@acme.example` });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ detail: 'Registration is closed' });
    // The provider's users still come in.
    const sub = `sub-${randomUUID()}`;
    expect((await me(byDefault, await sign({ sub, email: `${sub}@acme.example`, tenant_id: 'acme' }))).status).toBe(200);
  });

  it("a predictable tenant id (derived from the organisation's name) cannot be taken or joined by a local registration", async () => {
    const org = `acme-${randomUUID()}`;
    const tenant = derivedTenant(org);
    // Before the provider's first user of that organisation: nothing is created.
    const before = await register(explicit, { email: `early-${randomUUID()}@acme.example`, tenant_id: tenant });
    expect(before.status).toBe(403);
    expect(before.body).toEqual({ detail: 'Registration into this tenant needs an invite' });
    const sub = `sub-${randomUUID()}`;
    const first = await me(explicit, await sign({ sub, email: `${sub}@acme.example`, tenant_id: org }));
    expect(first.body.tenant_id).toBe(tenant);
    // After: the same answer.
    const after = await register(explicit, { email: `late-${randomUUID()}@acme.example`, tenant_id: tenant });
    expect(after.status).toBe(403);
    expect(after.body).toEqual(before.body);
    // Not even REGISTRATION=open creates a tenant when a provider is configured.
    expect((await register(open, { email: `o-${randomUUID()}@acme.example`, tenant_id: randomUUID() })).status).toBe(403);
  });

  it("a local account squatting Bob's e-mail does not block Bob's first login, nor become Bob", async () => {
    const org = `acme-${randomUUID()}`;
    const tenant = derivedTenant(org);
    // An earlier provider user makes the tenant exist; REGISTRATION=open lets a stranger in.
    await me(open, await sign({ sub: `founder-${randomUUID()}`, tenant_id: org }));
    const bobEmail = `bob-${randomUUID()}@acme.example`;
    const squatter = await register(open, { email: bobEmail, tenant_id: tenant });
    expect(squatter.status).toBe(201);

    const bobToken = await sign({ sub: `bob-${randomUUID()}`, email: bobEmail, name: 'Bob', tenant_id: org });
    const bob = await me(open, bobToken);
    expect(bob.status).toBe(200);
    expect(bob.body).toMatchObject({ email: bobEmail, name: 'Bob', tenant_id: tenant });
    expect(bob.body.id).not.toBe(squatter.body.user.id);
    // Bob stays Bob; the squatter stays the squatter (its own password, its own account).
    expect((await me(open, bobToken)).body.id).toBe(bob.body.id);
    expect((await me(open, squatter.body.access_token)).body.id).toBe(squatter.body.user.id);
    const squatterLogin = await api(open, 'POST', '/api/auth/login', { json: { email: bobEmail, password: 'squatter password', tenant_id: tenant } });
    expect(squatterLogin.body.user.id).toBe(squatter.body.user.id);
    // Another provider user with the same e-mail (another subject) is another user again: never linked by e-mail.
    const other = await me(open, await sign({ sub: `other-${randomUUID()}`, email: bobEmail, tenant_id: org }));
    expect(other.status).toBe(200);
    expect(new Set([other.body.id, bob.body.id, squatter.body.user.id]).size).toBe(3);
  });
});
