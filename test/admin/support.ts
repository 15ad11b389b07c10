import { expect } from 'vitest';
import { api, openSocket, type TestSocket, type TestUser } from '../helpers/clients.js';
import type { TestServer } from '../helpers/parley.js';

export const P = '/api/parley';
export const ADMIN = `${P}/admin`;

/** Rejects unless `p` settles within `ms`: a deadline, not a measurement. */
export const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

/** A socket on Parley's own API, subscribed (resuming from `cursors` when given). */
export async function parleySocket(server: TestServer, user: { token: string }, cursors?: unknown[]): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(user.token)}`);
  await s.next('ready');
  s.send({ type: 'subscribe', ...(cursors ? { cursors } : {}) });
  await s.next('subscribed');
  return s;
}

/** Calls an admin route as `actor` and expects `status`; returns the body. */
export async function adminCall(server: TestServer, actor: TestUser, method: string, path: string, status: number, json?: unknown) {
  const r = await api(server, method, `${ADMIN}${path}`, { token: actor.token, ...(json === undefined ? {} : { json }) });
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
  return r.body as any;
}
