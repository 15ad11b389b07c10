// Who sees whose presence is decided once, in the core (PresenceService.visible), and every
// dialect's presence surface and presence event goes through it: a user sees the people they
// share a live conversation with (not deleted, both still in it; a direct conversation under
// a block is shut) and their accepted friends. A pending request, a deleted conversation, a
// removal, a stranger of the same tenant, another tenant: shown offline or left out.
//
// 1. Presence events, on the sockets of /api/chat, 003 and /api/parley, for each relation.
// 2. An invariant: after any sequence of friend requests, direct conversations, groups
//    (add, remove, leave, delete) and blocks among four people, every REST surface of every
//    dialect shows each of them online exactly when the model says the viewer may see them.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, chatSocket, newUser, openSocket, settle, type TestSocket, type TestUser } from '../helpers/clients.js';
import { databases } from '../helpers/pg.js';
import { useParley } from '../helpers/parley.js';

const N = '/api/notifications/chat';

describe.each(databases)('presence visibility on %s', (db) => {
  const server = useParley({ db });

  const befriend = async (a: TestUser, b: TestUser) => {
    await api(server, 'POST', '/api/friends', { token: a.token, json: { user_id: b.user.id } });
    expect((await api(server, 'POST', '/api/friends', { token: b.token, json: { user_id: a.user.id } })).body.status).toBe('accepted');
  };
  const group = async (owner: TestUser, members: TestUser[]) =>
    (await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'g', member_ids: members.map((m) => m.user.id) } })).body.id as number;
  const direct = async (a: TestUser, b: TestUser) =>
    (await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'direct', user_id: b.user.id } })).status;

  it('presence events reach partners of live conversations and accepted friends, no one else, on every socket', async () => {
    const tag = `pv${Date.now()}`;
    const mk = (name: string, tenantId?: string) => newUser(server, { name, email: `${name}.${tag}@example.com`, tenantId });
    const viewer = await mk('viewer');
    const [partner, friend, asked, asker, deletedGroup, removed, left, stranger, blocked, coMember] = await Promise.all(
      ['partner', 'friend', 'asked', 'asker', 'deleted', 'removed', 'left', 'stranger', 'blocked', 'comember'].map((n) => mk(n)),
    );
    const foreign = await mk('foreign', randomUUID());
    expect(await direct(viewer, partner)).toBe(201);
    await befriend(viewer, friend);
    await api(server, 'POST', '/api/friends', { token: viewer.token, json: { user_id: asked.user.id } });
    await api(server, 'POST', '/api/friends', { token: asker.token, json: { user_id: viewer.user.id } });
    const d = await group(viewer, [deletedGroup]);
    expect((await api(server, 'DELETE', `/api/parley/conversations/${d}`, { token: viewer.token })).status).toBe(204);
    const r = await group(viewer, [removed, left, coMember]);
    expect((await api(server, 'DELETE', `/api/parley/conversations/${r}/participants/${removed.user.id}`, { token: viewer.token })).status).toBe(204);
    expect((await api(server, 'DELETE', `/api/parley/conversations/${r}/participants/${left.user.id}`, { token: left.token })).status).toBe(204);
    expect(await direct(viewer, blocked)).toBe(201);
    expect((await api(server, 'POST', `/api/friends/${blocked.user.id}/block`, { token: viewer.token })).status).toBe(200);

    const chat = await chatSocket(server, viewer);
    const n003 = await openSocket(`${server.wsUrl}/ws/chat/${viewer.user.tenant_id}/?token=${encodeURIComponent(viewer.token)}`);
    await n003.next('connection_established');
    const parley = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(viewer.token)}`);
    await parley.next('ready');

    const subjects = { partner, friend, asked, asker, deletedGroup, removed, left, stranger, blocked, coMember, foreign };
    const online: TestSocket[] = [];
    for (const u of Object.values(subjects)) online.push(await chatSocket(server, u));
    // The last to come online is one the viewer sees: once their event is in, the others' are too.
    const last = await newUser(server);
    await befriend(viewer, last);
    online.push(await chatSocket(server, last));
    await chat.next('presence', { where: (f) => f.data.user_id === last.user.id });
    await n003.next('presence_update', { where: (f) => f.user_id === last.user.uuid });
    await parley.next('presence', { where: (f) => f.user_id === last.user.id });
    await settle(chat);

    const name = (id: number | string) => Object.entries(subjects).find(([, u]) => u.user.id === id || u.user.uuid === id)?.[0];
    const seen = (frames: (number | string)[]) => [...new Set(frames.map(name).filter(Boolean))].sort();
    const expected = ['coMember', 'friend', 'partner'];
    expect(seen(chat.all('presence').map((f) => f.data.user_id))).toEqual(expected);
    expect(seen(n003.all('presence_update').map((f) => f.user_id))).toEqual(expected);
    expect(seen(parley.all('presence').map((f) => f.user_id))).toEqual(expected);
    for (const s of [...online, chat, n003, parley]) s.close();
  });

  /** The relations among four people, sequentially: the model of who may see whom. */
  type Act =
    | { t: 'friend' | 'unfriend' | 'dm' | 'block' | 'unblock' | 'group'; a: number; b: number }
    | { t: 'add' | 'remove' | 'leave'; g: number; b: number }
    | { t: 'delete'; g: number };
  const P = 4;
  const person = fc.integer({ min: 0, max: P - 1 });
  const two = fc.tuple(person, person).filter(([a, b]) => a !== b);
  const act: fc.Arbitrary<Act> = fc.oneof(
    two.chain(([a, b]) => fc.constantFrom<Act>({ t: 'friend', a, b }, { t: 'unfriend', a, b }, { t: 'dm', a, b }, { t: 'block', a, b }, { t: 'unblock', a, b }, { t: 'group', a, b })),
    fc.tuple(fc.nat(5), person, fc.constantFrom<'add' | 'remove' | 'leave'>('add', 'remove', 'leave')).map(([g, b, t]): Act => ({ t, g, b })),
    fc.nat(5).map((g): Act => ({ t: 'delete', g })),
  );

  it('invariant: every REST presence surface of every dialect shows online exactly whom the model lets the viewer see', async () => {
    const foreign = await newUser(server, { tenantId: randomUUID() });
    const foreignSocket = await chatSocket(server, foreign);
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(act, { minLength: 3, maxLength: 16 }), async (acts) => {
          run++;
          const tag = `inv${Date.now()}r${run}`;
          const u: TestUser[] = await Promise.all(Array.from({ length: P }, (_, i) => newUser(server, { email: `p${i}.${tag}@example.com` })));
          const sockets = await Promise.all(u.map((x) => chatSocket(server, x)));
          const pair = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);
          const friends = new Map<string, { accepted: boolean; by: number }>();
          const dms = new Set<string>();
          const blocks = new Set<string>();
          const groups: { id: number; owner: number; members: Set<number>; deleted: boolean }[] = [];
          const blockedEither = (a: number, b: number) => blocks.has(`${a}>${b}`) || blocks.has(`${b}>${a}`);
          const visible = (a: number, b: number) =>
            a === b ||
            friends.get(pair(a, b))?.accepted === true ||
            groups.some((g) => !g.deleted && g.members.has(a) && g.members.has(b)) ||
            (dms.has(pair(a, b)) && !blockedEither(a, b));
          try {
            for (const x of acts) {
              const where = JSON.stringify(x);
              if ('a' in x) {
                const { a, b } = x;
                if (x.t === 'friend') {
                  const r = await api(server, 'POST', '/api/friends', { token: u[a].token, json: { user_id: u[b].user.id } });
                  if (blockedEither(a, b)) expect(r.status, where).toBe(403);
                  else {
                    const f = friends.get(pair(a, b));
                    friends.set(pair(a, b), { accepted: f?.accepted === true || (f !== undefined && f.by === b), by: f?.by ?? a });
                  }
                } else if (x.t === 'unfriend') {
                  const r = await api(server, 'DELETE', `/api/friends/${u[b].user.id}`, { token: u[a].token });
                  expect(r.status, where).toBe(friends.delete(pair(a, b)) ? 200 : 404);
                } else if (x.t === 'dm') {
                  const ok = !blockedEither(a, b);
                  expect(await direct(u[a], u[b]), where).toBe(ok ? 201 : 403);
                  if (ok) dms.add(pair(a, b));
                } else if (x.t === 'block') {
                  await api(server, 'POST', `/api/friends/${u[b].user.id}/block`, { token: u[a].token });
                  blocks.add(`${a}>${b}`);
                  friends.delete(pair(a, b));
                } else if (x.t === 'unblock') {
                  await api(server, 'DELETE', `/api/friends/${u[b].user.id}/block`, { token: u[a].token });
                  blocks.delete(`${a}>${b}`);
                } else {
                  const res = await api(server, 'POST', '/api/parley/conversations', { token: u[a].token, json: { kind: 'group', title: 'g', member_ids: [u[b].user.id] } });
                  expect(res.status, where).toBe(blocks.has(`${b}>${a}`) ? 403 : 201);
                  if (res.status === 201) groups.push({ id: res.body.id, owner: a, members: new Set([a, b]), deleted: false });
                }
                continue;
              }
              const g = groups[x.g % Math.max(1, groups.length)];
              if (!g || g.deleted) continue;
              const owner = u[g.owner];
              if (x.t === 'delete') {
                expect((await api(server, 'DELETE', `/api/parley/conversations/${g.id}`, { token: owner.token })).status, where).toBe(204);
                g.deleted = true;
              } else if (x.t === 'add') {
                if (g.members.has(x.b)) continue;
                const r = await api(server, 'POST', `/api/parley/conversations/${g.id}/participants`, { token: owner.token, json: { user_id: u[x.b].user.id } });
                expect(r.status, where).toBe(blocks.has(`${x.b}>${g.owner}`) ? 403 : 201);
                if (r.status === 201) g.members.add(x.b);
              } else if (g.members.has(x.b) && x.b !== g.owner) {
                const by = x.t === 'leave' ? u[x.b] : owner;
                expect((await api(server, 'DELETE', `/api/parley/conversations/${g.id}/participants/${u[x.b].user.id}`, { token: by.token })).status, where).toBe(204);
                g.members.delete(x.b);
              }
            }

            const index = (id: number | string) => u.findIndex((x) => x.user.id === id || x.user.uuid === id);
            const set = (ids: (number | string)[]) => new Set(ids.map(index).filter((i) => i >= 0));
            for (let v = 0; v < P; v++) {
              const me = u[v];
              const expected = new Set(Array.from({ length: P }, (_, i) => i).filter((i) => i !== v && visible(v, i)));
              const acceptedFriends = new Set([...expected].filter((i) => friends.get(pair(v, i))?.accepted));
              const ids = u.map((x) => x.user.id).join(',');
              const [chatSearch, v1Search, chatOnline, v1Online, friendsApi, online004, n003, parley] = await Promise.all([
                api(server, 'GET', `/api/chat/search-users?email=${tag}&limit=50`, { token: me.token }),
                api(server, 'GET', `/api/v1/chat/search-users?email=${tag}&limit=50`, { token: me.token }),
                api(server, 'GET', '/api/chat/online-users', { token: me.token }),
                api(server, 'GET', '/api/v1/chat/online-users', { token: me.token }),
                api(server, 'GET', '/api/friends', { token: me.token }),
                api(server, 'GET', '/api/v1/chat/friends/online', { token: me.token }),
                api(server, 'GET', `${N}/presence/`, { token: me.token }),
                api(server, 'GET', `/api/parley/presence?user_ids=${ids}`, { token: me.token }),
              ]);
              const where = `run ${run}, viewer ${v}, ${JSON.stringify(acts)}`;
              const onlineIn = (list: { id?: number; user_id?: number | string; is_online?: boolean; online?: boolean; status?: string }[]) =>
                set(list.filter((x) => x.is_online === true || x.online === true).map((x) => (x.id ?? x.user_id)!));
              expect(onlineIn(chatSearch.body.users), `chat search-users: ${where}`).toEqual(expected);
              expect(onlineIn(v1Search.body.users), `v1 search-users: ${where}`).toEqual(expected);
              expect(set(chatOnline.body.online_users.map((x: { user_id: number }) => x.user_id)), `chat online-users: ${where}`).toEqual(expected);
              expect(set(v1Online.body.online_users.map((x: { user_id: number }) => x.user_id)), `v1 online-users: ${where}`).toEqual(expected);
              // Its list holds requests too: online only where the viewer may see them anyway.
              const listed = new Set([...expected].filter((i) => friends.has(pair(v, i))));
              expect(onlineIn(friendsApi.body.friends), `GET /api/friends: ${where}`).toEqual(listed);
              expect(set(online004.body.online_friends), `004 friends/online: ${where}`).toEqual(acceptedFriends);
              expect(onlineIn(n003.body), `003 presence/: ${where}`).toEqual(expected);
              expect(set(n003.body.map((x: { user_id: string }) => x.user_id)), `003 presence/ lists: ${where}`).toEqual(expected);
              // Asked for everyone, the viewer included (online: their own socket is open).
              expect(onlineIn(parley.body), `parley presence: ${where}`).toEqual(new Set([...expected, v]));
              // Another tenant's user does not exist for the viewer.
              expect((await api(server, 'GET', `/api/parley/presence?user_ids=${foreign.user.id}`, { token: me.token })).status).toBe(404);
              for (const x of parley.body) if (!expected.has(index(x.user_id)) && x.user_id !== me.user.id) expect(x, where).toMatchObject({ online: false, status: 'offline', last_seen: null });
              // Members in the viewer's conversations: never someone the viewer may not see.
              const list = await api(server, 'GET', '/api/parley/conversations?limit=200', { token: me.token });
              for (const c of list.body) {
                for (const m of c.members) if (m.online && m.user.id !== me.user.id) expect(expected.has(index(m.user.id)), `parley members: ${where}`).toBe(true);
              }
            }
          } finally {
            for (const s of sockets) s.close();
          }
        }),
        { numRuns: db === 'sqlite' ? 12 : 5 },
      );
    } finally {
      foreignSocket.close();
    }
  }, 240_000);
});
