// What every dialect suite checks and builds the same way: the time and id formats, users,
// the `{"detail"}` error body, statuses, and 000/001/002's send_message frame. Each
// dialect's support.ts re-exports these beside its own shapes.
import { beforeAll, expect } from 'vitest';
import { newUser, type ApiResponse, type TestUser } from './clients.js';
import type { TestServer } from './parley.js';

/** UTC ISO 8601 with milliseconds and Z (DESIGN.md, Responses). */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let tempIds = 0;
/** A local_temp_id nobody else in this process uses. */
export const tempId = (label = 't') => `${label}_${process.pid}_${++tempIds}`;

/** Users registered in parallel (registration hashes a password: the slow part of a fixture). */
export function users(server: TestServer, n: number, opts: { tenantId?: string; names?: string[] } = {}): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => newUser(server, { tenantId: opts.tenantId, name: opts.names?.[i] })));
}

/**
 * `users(server, n)` for the describe block it is called in, registered before its first
 * test: `const [a, b] = useUsers(server, 2)`. Each reads through to its registered user.
 */
export function useUsers(server: TestServer, n: number, opts: { tenantId?: string; names?: string[] } = {}): TestUser[] {
  const registered: TestUser[] = [];
  beforeAll(async () => {
    registered.push(...(await users(server, n, opts)));
  });
  const nth = (i: number) => {
    if (!registered[i]) throw new Error('useUsers: the users are registered in beforeAll; use them in a test or a hook');
    return registered[i];
  };
  return Array.from({ length: n }, (_, i) => ({
    get token() {
      return nth(i).token;
    },
    get user() {
      return nth(i).user;
    },
    get password() {
      return nth(i).password;
    },
  }));
}

/** Asserts a status, printing the body when it differs. */
export function expectStatus(res: ApiResponse<unknown>, status: number): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
}

/** The body of an error is exactly `{"detail": "<text>"}` (DESIGN.md, Bad input); `status` may list the allowed ones. */
export function expectDetail(res: ApiResponse<unknown>, status: number | number[], detail?: string | RegExp): string {
  if (Array.isArray(status)) expect(status, `status ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
  else expectStatus(res, status);
  expect(res.body).toBeTypeOf('object');
  expect(res.body).not.toBeNull();
  const body = res.body as { detail: string };
  expect(Object.keys(body)).toEqual(['detail']);
  expect(body.detail).toBeTypeOf('string');
  expect(body.detail.length).toBeGreaterThan(0);
  if (typeof detail === 'string') expect(body.detail).toBe(detail);
  else if (detail) expect(body.detail).toMatch(detail);
  return body.detail;
}

/** A user as /api/chat and 002 show one: id, name, email, avatar_url, is_online. */
export function expectUserDetails(u: any, user: TestUser, isOnline?: boolean) {
  expect(u).toMatchObject({ id: user.user.id, name: user.user.name, email: user.user.email });
  expect(u.id).toBeTypeOf('number');
  expect(u).toHaveProperty('avatar_url');
  expect(u.avatar_url === null || typeof u.avatar_url === 'string').toBe(true);
  expect(u.is_online).toBeTypeOf('boolean');
  if (isOnline !== undefined) expect(u.is_online).toBe(isOnline);
}

/** A direct room as 002 shows it (POST/GET rooms, GET rooms/{id}), all but `name`, whose type each dialect states. */
export function expectRoomFields(r: any, other: TestUser) {
  expect(r.id).toBeTypeOf('number');
  expect(r.room_type).toBe('direct');
  expect(r.created_by).toBeTypeOf('number');
  expect(r.created_at).toMatch(ISO_MS);
  expect(r.updated_at).toMatch(ISO_MS);
  expect(r.is_active).toBe(true);
  expectUserDetails(r.other_user, other);
  expect(r).toHaveProperty('last_message');
  expect(r.unread_count).toBeTypeOf('number');
}

/** The documented text frame of 000/001/002, with room_id and receiver_id when given. */
export function textFrame(room: number | undefined, receiverId: number | undefined, content: string, extra: Record<string, unknown> = {}) {
  const data: Record<string, unknown> = { message_type: 'text', content, ...extra };
  if (room !== undefined) data.room_id = room;
  if (receiverId !== undefined) data.receiver_id = receiverId;
  return { type: 'send_message', data };
}
