import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import type { TestServer } from '../helpers/parley.js';

export const P = '/api/parley';

/** A fresh tenant: its first user (its admin), then `members` more. */
export async function tenant(server: TestServer, members = 1): Promise<{ admin: TestUser; members: TestUser[]; tenantId: string }> {
  const tenantId = randomUUID();
  const admin = await newUser(server, { tenantId });
  const rest: TestUser[] = [];
  for (let i = 0; i < members; i++) rest.push(await newUser(server, { tenantId }));
  return { admin, members: rest, tenantId };
}

export type Scope = 'read' | 'write' | 'admin';

/** An API key made by `admin`, with its secret and bot. */
export async function apiKey(server: TestServer, admin: TestUser, scopes: Scope[], name = 'bot') {
  const r = await api(server, 'POST', `${P}/api-keys`, { token: admin.token, json: { name, scopes } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

/** Calls with an API key as `Authorization: Bearer` (the default) or as `X-Api-Key`. */
export const withKey = (secret: string, as: 'bearer' | 'header' = 'bearer') => (as === 'bearer' ? { token: secret } : { headers: { 'x-api-key': secret } });
