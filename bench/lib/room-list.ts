// The room list at scale: one user in G groups of M members each, every group with a last
// message. Shared by `npm run bench:rooms` (the figures) and its short form in the tests
// (test/dialects/room-list-bounded.test.ts). Seeds through the Store interface, which old and
// new checkouts share, so the same code measures before and after a change.
import { randomBytes } from 'node:crypto';
import type { Store } from '../../src/backends/store/store.js';

export interface RoomListFixture {
  token: string;
  userId: number;
  groupIds: number[];
}

/** The endpoints that list a user's rooms, one per dialect (Parley's first page as it comes). */
export const ROOM_LISTS = [
  ['/api/chat/rooms', 'chat (000/001)'],
  ['/api/v1/chat/rooms', 'v1 (002)'],
  ['/api/notifications/chat/conversations/', '003'],
  ['/api/parley/conversations', 'parley'],
  ['/api/parley/conversations?limit=200', 'parley, 200 a page'],
] as const;

async function call(base: string, method: string, path: string, token?: string, json?: unknown): Promise<{ status: number; body: any; bytes: number; headers: Headers }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, bytes: Buffer.byteLength(text), headers: res.headers };
}

/**
 * Registers the viewer over HTTP, creates `members − 1` other users and `groups` groups of
 * all of them through the store (fast: one insert per group), and sends one message into
 * each group over HTTP (so each has a last message).
 */
export async function seedRoomList(base: string, store: Store, opts: { groups: number; members: number }): Promise<RoomListFixture> {
  const tag = randomBytes(4).toString('hex');
  const reg = await call(base, 'POST', '/api/auth/register', undefined, { email: `viewer-${tag}@example.com`, password: 'password-123456', name: 'Viewer' });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const viewer = (await store.userById(reg.body.user.id))!;
  const others: number[] = [];
  for (let i = 1; i < opts.members; i++) {
    others.push((await store.createUser({ tenantId: viewer.tenantId, email: `m${i}-${tag}@example.com`, name: `Member ${i} with a fairly ordinary name` })).id);
  }
  const groupIds: number[] = [];
  const t0 = Date.now() - opts.groups * 1000;
  for (let g = 0; g < opts.groups; g++) {
    const c = await store.createConversation(
      {
        tenantId: viewer.tenantId,
        kind: 'group',
        title: `Group ${g}`,
        createdBy: viewer.id,
        participants: [{ userId: viewer.id, role: 'admin' }, ...others.map((id) => ({ userId: id, role: 'member' as const }))],
      },
      t0 + g,
    );
    groupIds.push(c.id);
    const sent = await call(base, 'POST', `/api/parley/conversations/${c.id}/messages`, reg.body.access_token, { content: `hello group ${g}` });
    if (sent.status !== 201) throw new Error(`send: ${sent.status} ${JSON.stringify(sent.body)}`);
  }
  return { token: reg.body.access_token, userId: viewer.id, groupIds };
}

export interface RoomListFigure {
  path: string;
  label: string;
  /** Bytes of one answer. */
  bytes: number;
  /** Median wall time of one request, ms. */
  ms: number;
  /** Rooms in the answer (Parley's: its first page). */
  rooms: number;
}

/** Times each room list `samples` times (after one warm-up) and sizes its answer. */
export async function measureRoomLists(base: string, token: string, samples: number): Promise<RoomListFigure[]> {
  const out: RoomListFigure[] = [];
  for (const [path, label] of ROOM_LISTS) {
    const first = await call(base, 'GET', path, token);
    if (first.status !== 200) throw new Error(`${path}: ${first.status}`);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await call(base, 'GET', path, token);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const rooms = Array.isArray(first.body) ? first.body.length : (first.body.rooms?.length ?? 0);
    out.push({ path, label, bytes: first.bytes, ms: times[Math.floor(times.length / 2)], rooms });
  }
  return out;
}
