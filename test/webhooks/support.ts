import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { api, newUser, type TestUser } from '../helpers/clients.js';

/** Fast retries and polls for tests; loopback receivers allowed. */
export const WEBHOOK_TEST_ENV = {
  WEBHOOKS: 'on',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_POLL_MS: '30',
  WEBHOOK_RETRY_BASE_MS: '30',
  WEBHOOK_RETRY_MAX_MS: '300',
  WEBHOOK_TIMEOUT_MS: '2000',
};

/** A new tenant: its admin (its first user) and a member. */
export async function newTenant(server: { url: string }): Promise<{ tenant: string; admin: TestUser; member: TestUser }> {
  const tenant = randomUUID();
  const admin = await newUser(server, { tenantId: tenant, name: 'Admin' });
  const member = await newUser(server, { tenantId: tenant, name: 'Member' });
  return { tenant, admin, member };
}

export async function newGroup(server: { url: string }, owner: TestUser, members: TestUser[], title = 'Group'): Promise<number> {
  const r = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title, member_ids: members.map((m) => m.user.id) } });
  expect(r.status).toBe(201);
  return r.body.id;
}

export async function send(server: { url: string }, user: TestUser, conversationId: number, content: string): Promise<number> {
  const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/messages`, { token: user.token, json: { content } });
  expect(r.status).toBe(201);
  return r.body.id;
}

export async function register(server: { url: string }, admin: TestUser, json: Record<string, unknown>) {
  const r = await api(server, 'POST', '/api/parley/webhooks', { token: admin.token, json });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

/** Every event of the admin's tenant after `after`, paged by cursor. */
export async function allEvents(server: { url: string }, admin: TestUser, after = 0, limit = 3) {
  const out: any[] = [];
  for (;;) {
    const r = await api(server, 'GET', `/api/parley/events?after=${after}&limit=${limit}`, { token: admin.token });
    expect(r.status).toBe(200);
    out.push(...r.body.events);
    if (r.body.events.length === 0) return out;
    after = r.body.next_cursor;
  }
}
