// The room list costs its rooms, not their members (README "Security", bounded room list):
// a direct room needs its pair, a group its member count and a few names. Every dialect's
// room list keeps its document's shape (participant_count, other_user, last_message with its
// sender's name, 003's created_by), and Parley's pages by last activity.
//
// The short form of `npm run bench:rooms` is here too: groups of 150 cost what groups of 5 do.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/backends/store/store.js';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { databases } from '../helpers/pg.js';
import { useParley } from '../helpers/parley.js';
import { ROOM_LISTS, measureRoomLists, seedRoomList } from '../../bench/lib/room-list.js';

const N = '/api/notifications/chat';

/** Counts the member rows the store hands out while `fn` runs (the real store still answers). */
async function memberRowsRead(store: Store, fn: () => Promise<unknown>): Promise<number> {
  let rows = 0;
  const s = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const originals = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  for (const name of ['members', 'memberPreview']) {
    const f = s[name];
    if (typeof f !== 'function') continue;
    originals.set(name, f);
    s[name] = async (...args: unknown[]) => {
      const out = (await f.apply(store, args)) as unknown[];
      rows += out.length;
      return out;
    };
  }
  try {
    await fn();
  } finally {
    for (const [name, f] of originals) s[name] = f;
  }
  return rows;
}

describe.each(databases)('room lists on %s', (db) => {
  const server = useParley({ db });

  it('bench:rooms, short form: a room list of groups of 150 is as big and reads as few members as one of groups of 5', async () => {
    const small = await seedRoomList(server.url, server.parley.store, { groups: 6, members: 5 });
    const large = await seedRoomList(server.url, server.parley.store, { groups: 6, members: 150 });
    const [s, l] = [await measureRoomLists(server.url, small.token, 1), await measureRoomLists(server.url, large.token, 1)];
    for (let i = 0; i < ROOM_LISTS.length; i++) {
      expect(l[i].rooms, l[i].path).toBe(6);
      // Member names differ by a digit or two; the member lists must not grow with the groups.
      expect(l[i].bytes, `${l[i].path}: ${s[i].bytes} bytes with 5 members a group, ${l[i].bytes} with 150`).toBeLessThan(s[i].bytes * 1.15 + 200);
      const rows = await memberRowsRead(server.parley.store, () => api(server, 'GET', ROOM_LISTS[i][0], { token: large.token }));
      expect(rows, `${l[i].path}: member rows read`).toBeLessThanOrEqual(6 * 5);
    }
  });

  it('each dialect shows the room list in its document\'s shape: counts, the pair, the last sender and the creator', async () => {
    const people: TestUser[] = await Promise.all(Array.from({ length: 9 }, () => newUser(server)));
    const [viewer, friend, ...rest] = people;
    // Created by the last registered (highest id: not among the first few members), who also
    // sends its last message.
    const creator = rest[rest.length - 1];
    const g = await api(server, 'POST', '/api/parley/conversations', { token: creator.token, json: { kind: 'group', title: 'big', member_ids: [viewer, ...rest.slice(0, -1)].map((u) => u.user.id) } });
    expect(g.status).toBe(201);
    expect((await api(server, 'POST', `/api/parley/conversations/${g.body.id}/messages`, { token: creator.token, json: { content: 'from the creator' } })).status).toBe(201);
    const dm = await api(server, 'POST', '/api/chat/rooms', { token: friend.token, json: { receiver_id: viewer.user.id } });
    expect((await api(server, 'POST', `/api/parley/conversations/${dm.body.id}/messages`, { token: friend.token, json: { content: 'hi' } })).status).toBe(201);
    const members = 1 + 1 + rest.length - 1;

    const chat = (await api(server, 'GET', '/api/chat/rooms', { token: viewer.token })).body;
    expect(chat.total).toBe(2);
    const [dmRoom, groupRoom] = chat.rooms;
    expect(dmRoom).toMatchObject({ id: dm.body.id, room_type: 'direct', participant_count: 2, other_user: { id: friend.user.id, name: friend.user.name }, last_message: { content: 'hi', sender_name: friend.user.name } });
    expect(groupRoom).toMatchObject({ id: g.body.id, room_type: 'group', participant_count: members, other_user: null, last_message: { content: 'from the creator', sender_name: creator.user.name } });
    expect((await api(server, 'GET', '/api/v1/chat/rooms', { token: viewer.token })).body).toEqual(chat);

    const n003 = (await api(server, 'GET', `${N}/conversations/`, { token: viewer.token })).body;
    const group003 = n003.find((c: { id: string }) => c.id === g.body.uuid);
    expect(group003).toMatchObject({ participant_count: members, created_by: creator.user.uuid, last_message: { content: 'from the creator', sender_id: creator.user.uuid, sender: { id: creator.user.uuid, name: creator.user.name } } });

    const list = (await api(server, 'GET', '/api/parley/conversations', { token: viewer.token })).body;
    const groupP = list.find((c) => c.id === g.body.id)!;
    expect(groupP.member_count).toBe(members);
    expect(groupP.members.length).toBeLessThanOrEqual(5);
    expect(groupP.last_message?.sender).toMatchObject({ id: creator.user.id, name: creator.user.name });
    expect(list.find((c) => c.id === dm.body.id)!.members.map((m) => m.user.id).sort()).toEqual([viewer.user.id, friend.user.id].sort());
    // One conversation has every member.
    const one = (await api(server, 'GET', `/api/parley/conversations/${g.body.id}`, { token: viewer.token })).body;
    expect(one.members).toHaveLength(members);
    expect(one.member_count).toBe(members);
  });

  it('invariant: following Parley-Next-Cursor from any page size lists every conversation once, most recent activity first', async () => {
    const [viewer, other] = await Promise.all([newUser(server), newUser(server)]);
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await api(server, 'POST', '/api/parley/conversations', { token: viewer.token, json: { kind: 'group', title: `c${i}`, member_ids: [other.user.id] } })).body.id);
    }
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(ids.length - 1), { maxLength: 6 }), fc.integer({ min: 1, max: 8 }), async (activity, limit) => {
        for (const i of activity) {
          expect((await api(server, 'POST', `/api/parley/conversations/${ids[i]}/messages`, { token: other.token, json: { content: 'x' } })).status).toBe(201);
        }
        const everything = (await api(server, 'GET', '/api/parley/conversations?limit=200', { token: viewer.token })).body as { id: number; last_message_at: string | null; created_at: string }[];
        const at = (c: (typeof everything)[number]) => Date.parse(c.last_message_at ?? c.created_at);
        for (let k = 1; k < everything.length; k++) {
          const [p, c] = [everything[k - 1], everything[k]];
          expect(at(p) > at(c) || (at(p) === at(c) && p.id > c.id)).toBe(true);
        }
        const paged: number[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 50; pages++) {
          const res: { status: number; body: { id: number }[]; headers: Headers } = await api(server, 'GET', `/api/parley/conversations?limit=${limit}${cursor ? `&before=${cursor}` : ''}`, { token: viewer.token });
          expect(res.status).toBe(200);
          expect(res.body.length).toBeLessThanOrEqual(limit);
          paged.push(...res.body.map((c: { id: number }) => c.id));
          cursor = res.headers.get('parley-next-cursor');
          if (!cursor) break;
        }
        expect(paged).toEqual(everything.map((c) => c.id));
        expect(new Set(paged)).toEqual(new Set(ids));
      }),
      { numRuns: db === 'sqlite' ? 25 : 10 },
    );
  });
});
