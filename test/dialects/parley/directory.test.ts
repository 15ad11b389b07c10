import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ChatState } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { api, openSocket, type ApiResponse, type TestUser } from '../../helpers/clients.js';
import { users } from '../../helpers/dialects.js';
import { useParley, type TestServer } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';
import type { DirectoryOut } from '../../../sdk/src/generated/wire.js';

// The channel directory of Parley's own API (issue 18): public channels listed in their
// tenant and joined by anyone of it; private ones invite only, as before.

const P = '/api/parley';

const create = (server: TestServer, u: TestUser, title: string, visibility?: 'public' | 'private', kind = 'channel') =>
  api(server, 'POST', `${P}/conversations`, { token: u.token, json: { kind, title, ...(visibility ? { visibility } : {}) } });
const join = (server: TestServer, u: TestUser, id: number) => api(server, 'POST', `${P}/channels/${id}/join`, { token: u.token });
const setVisibility = (server: TestServer, u: TestUser, id: number, visibility: string) =>
  api(server, 'PUT', `${P}/conversations/${id}/visibility`, { token: u.token, json: { visibility } });
const leaveOrRemove = (server: TestServer, actor: TestUser, id: number, target: TestUser) =>
  api(server, 'DELETE', `${P}/conversations/${id}/participants/${target.user.id}`, { token: actor.token });

interface Listed {
  id: number;
  title: string | null;
  member_count: number;
  is_member: boolean;
}

/** Every page of the directory as `u` sees it. */
async function directory(server: TestServer, u: TestUser, q?: string, limit = 2): Promise<Listed[]> {
  const out: Listed[] = [];
  let cursor: string | null = null;
  do {
    const query: URLSearchParams = new URLSearchParams({ limit: String(limit), ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) });
    const r: ApiResponse<DirectoryOut> = await api(server, 'GET', `${P}/channels?${query}`, { token: u.token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...r.body.channels);
    cursor = r.body.next_cursor;
  } while (cursor);
  return out;
}

/** A new tenant with `n` users. */
const tenant = (server: TestServer, n: number) => users(server, n, { tenantId: randomUUID() });

describe.each(databases)('channel directory on %s', (db) => {
  const server = useParley({ db });

  it('a public channel is listed in its tenant only, with its member count and whether I am in it; joining is 201, then 200', async () => {
    const [owner, reader] = await tenant(server, 2);
    const [stranger] = await tenant(server, 1);
    const c = await create(server, owner, 'Announcements', 'public');
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ kind: 'channel', visibility: 'public', my_role: 'admin' });
    expect(await directory(server, reader)).toEqual([expect.objectContaining({ id: c.body.id, title: 'Announcements', member_count: 1, is_member: false })]);
    expect(await directory(server, stranger)).toEqual([]);

    const joined = await join(server, reader, c.body.id);
    expect(joined.status).toBe(201);
    expect(joined.body).toMatchObject({ id: c.body.id, my_role: 'member', member_count: 2, visibility: 'public' });
    expect((await join(server, reader, c.body.id)).status).toBe(200);
    expect(await directory(server, reader)).toEqual([expect.objectContaining({ id: c.body.id, member_count: 2, is_member: true })]);
    const mine = await api(server, 'GET', `${P}/conversations`, { token: reader.token });
    expect(mine.body.map((x: { id: number }) => x.id)).toContain(c.body.id);

    const other = await join(server, stranger, c.body.id);
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('conversation_not_found');
  });

  it('private is the default and stays invite only: not listed, a join is 404 as if it did not exist', async () => {
    const [owner, other] = await tenant(server, 2);
    const channel = await create(server, owner, 'secret');
    const group = await create(server, owner, 'team', undefined, 'group');
    expect(channel.body.visibility).toBe('private');
    expect(group.body.visibility).toBe('private');
    expect(await directory(server, other)).toEqual([]);
    for (const id of [channel.body.id, group.body.id, 999_999_999]) {
      const r = await join(server, other, id);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ detail: 'Conversation not found', code: 'conversation_not_found' });
    }
  });

  it('only a channel can be public, and only its admins change that; unlisting keeps the members', async () => {
    const [owner, member] = await tenant(server, 2);
    const g = await create(server, owner, 'team', 'public', 'group');
    expect(g.status).toBe(400);
    expect(g.body).toEqual({ detail: 'Only a channel can be public', code: 'invalid_input' });
    const c = await create(server, owner, 'lobby', 'private');
    await api(server, 'POST', `${P}/conversations/${c.body.id}/participants`, { token: owner.token, json: { user_id: member.user.id } });
    const refused = await setVisibility(server, member, c.body.id, 'public');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('not_permitted');
    expect((await setVisibility(server, owner, c.body.id, 'sideways')).status).toBe(422);
    const listed = await setVisibility(server, owner, c.body.id, 'public');
    expect(listed.status).toBe(200);
    expect(listed.body.visibility).toBe('public');
    expect((await directory(server, member)).map((x) => x.id)).toEqual([c.body.id]);
    expect((await setVisibility(server, owner, c.body.id, 'private')).body.visibility).toBe('private');
    expect(await directory(server, member)).toEqual([]);
    expect((await api(server, 'GET', `${P}/conversations/${c.body.id}`, { token: member.token })).status).toBe(200);
  });

  it('the members hear the new visibility in the conversation_changed frame (and the SDK state shows it)', async () => {
    const [owner, member] = await tenant(server, 2);
    const c = await create(server, owner, 'announcements', 'private');
    await api(server, 'POST', `${P}/conversations/${c.body.id}/participants`, { token: owner.token, json: { user_id: member.user.id } });
    const ws = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(member.token)}`);
    await ws.next('ready');
    ws.send({ type: 'subscribe' });
    await ws.next('subscribed');
    expect((await setVisibility(server, owner, c.body.id, 'public')).status).toBe(200);
    const frame = await ws.next('conversation_changed');
    expect(frame).toEqual({ type: 'conversation_changed', change: 'updated', conversation: { id: c.body.id, uuid: c.body.uuid, kind: 'channel' }, title: 'announcements', visibility: 'public' });
    expect((await setVisibility(server, owner, c.body.id, 'private')).status).toBe(200);
    expect(await ws.next('conversation_changed')).toMatchObject({ visibility: 'private' });
    const state = new ChatState();
    state.mergeConversation(c.body, state.tick());
    state.applyConversationChanged(frame as never);
    expect(state.conversation(c.body.id)?.visibility).toBe('public');
    // A rename says nothing of visibility.
    await api(server, 'PATCH', `${P}/conversations/${c.body.id}`, { token: owner.token, json: { title: 'news' } });
    expect(await ws.next('conversation_changed')).not.toHaveProperty('visibility');
  });

  it('searches a part of the name in any case, pages by name with a cursor, refuses a cursor it did not give', async () => {
    const [owner] = await tenant(server, 1);
    for (const title of ['release-train', 'Design', 'Releases', 'random', 'Équipe']) await create(server, owner, title, 'public');
    expect((await directory(server, owner, undefined, 1)).map((x) => x.title)).toEqual(['Design', 'random', 'release-train', 'Releases', 'Équipe']);
    expect((await directory(server, owner, 'RELEASE')).map((x) => x.title)).toEqual(['release-train', 'Releases']);
    expect((await directory(server, owner, 'équ')).map((x) => x.title)).toEqual(['Équipe']);
    const bad = await api(server, 'GET', `${P}/channels?cursor=not-a-cursor`, { token: owner.token });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toBe('cursor is not one this directory gave');
    expect((await api(server, 'GET', `${P}/channels`)).status).toBe(401);
  });

  it('the members hear of a join; someone removed may join a public channel again', async () => {
    const [owner, joiner] = await tenant(server, 2);
    const c = await create(server, owner, 'general', 'public');
    const ws = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(owner.token)}`);
    await ws.next('ready');
    ws.send({ type: 'subscribe' });
    await ws.next('subscribed');
    expect((await join(server, joiner, c.body.id)).status).toBe(201);
    expect(await ws.next('participant_changed')).toMatchObject({ change: 'added', conversation_id: c.body.id, user: { id: joiner.user.id }, by: joiner.user.id });
    expect((await leaveOrRemove(server, owner, c.body.id, joiner)).status).toBe(204);
    expect((await join(server, joiner, c.body.id)).status).toBe(201);
  });

  it('property: after any sequence of creates, visibility changes, role changes, joins, adds, leaves and removals across two tenants, only admins change visibility, the directory lists exactly the tenant\'s public channels and no one is in a private channel unless added', async () => {
    type Role = 'admin' | 'moderator' | 'member';
    type Action =
      | { kind: 'create'; by: number; visibility: 'public' | 'private' }
      | { kind: 'role'; by: number; channel: number; target: number; role: Role }
      | { kind: 'visibility'; by: number; channel: number; visibility: 'public' | 'private' }
      | { kind: 'join'; by: number; channel: number }
      | { kind: 'add'; by: number; channel: number; target: number }
      | { kind: 'leave'; by: number; channel: number }
      | { kind: 'remove'; by: number; channel: number; target: number };
    const who = fc.integer({ min: 0, max: 4 });
    const which = fc.nat(1000);
    const vis = fc.constantFrom<'public' | 'private'>('public', 'private');
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), by: who, visibility: vis }),
      fc.record({ kind: fc.constant('visibility' as const), by: who, channel: which, visibility: vis }),
      fc.record({ kind: fc.constant('role' as const), by: who, channel: which, target: who, role: fc.constantFrom<Role>('admin', 'moderator', 'member') }),
      fc.record({ kind: fc.constant('join' as const), by: who, channel: which }),
      fc.record({ kind: fc.constant('join' as const), by: who, channel: which }),
      fc.record({ kind: fc.constant('add' as const), by: who, channel: which, target: who }),
      fc.record({ kind: fc.constant('leave' as const), by: who, channel: which }),
      fc.record({ kind: fc.constant('remove' as const), by: who, channel: which, target: who }),
    );

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        // Users 0–2 in tenant A, 3–4 in tenant B: fresh ones each run, so the directories hold only this run's channels.
        const people = [...(await tenant(server, 3)), ...(await tenant(server, 2))];
        const tenantOf = (u: number) => (u < 3 ? 'A' : 'B');
        // The model: each channel's tenant, visibility, members with their roles (its creator the first admin) and how each got in.
        const channels: { id: number; tenant: string; visibility: 'public' | 'private'; everPublic: boolean; roles: Map<number, Role>; members: Map<number, 'created' | 'added' | 'joined'> }[] = [];
        const admins = (c: (typeof channels)[number]) => [...c.roles.values()].filter((r) => r === 'admin').length;
        const moderates = (c: (typeof channels)[number], u: number) => c.roles.get(u) === 'admin' || c.roles.get(u) === 'moderator';
        const gone = (c: (typeof channels)[number], u: number) => {
          c.members.delete(u);
          c.roles.delete(u);
        };
        for (const a of actions) {
          const actor = people[a.by];
          if (a.kind === 'create') {
            const r = await create(server, actor, `channel ${channels.length}`, a.visibility);
            expect(r.status).toBe(201);
            channels.push({ id: r.body.id, tenant: tenantOf(a.by), visibility: a.visibility, everPublic: a.visibility === 'public', roles: new Map([[a.by, 'admin']]), members: new Map([[a.by, 'created']]) });
            continue;
          }
          // Any channel made so far: the index wraps around them.
          const c = channels[a.channel % Math.max(1, channels.length)];
          if (!c) continue;
          const isMember = c.members.has(a.by);
          if (a.kind === 'visibility') {
            const r = await setVisibility(server, actor, c.id, a.visibility);
            const expected = !isMember ? 404 : c.roles.get(a.by) !== 'admin' ? 403 : 200;
            expect(r.status, JSON.stringify({ a, body: r.body })).toBe(expected);
            if (expected === 200) c.visibility = a.visibility;
            if (expected === 200 && a.visibility === 'public') c.everPublic = true;
          } else if (a.kind === 'role') {
            const r = await api(server, 'PATCH', `${P}/conversations/${c.id}/participants/${people[a.target].user.id}`, { token: actor.token, json: { role: a.role } });
            const target = c.roles.get(a.target);
            const expected = !isMember ? 404 : c.roles.get(a.by) !== 'admin' ? 403 : !target ? 404 : target === 'admin' && a.role !== 'admin' && admins(c) === 1 ? 400 : 200;
            expect(r.status, JSON.stringify({ a, body: r.body })).toBe(expected);
            if (expected === 200) c.roles.set(a.target, a.role);
          } else if (a.kind === 'join') {
            const r = await join(server, actor, c.id);
            const open = c.tenant === tenantOf(a.by) && c.visibility === 'public';
            expect(r.status, JSON.stringify({ a, body: r.body })).toBe(isMember ? 200 : open ? 201 : 404);
            if (!isMember && open) {
              c.members.set(a.by, 'joined');
              c.roles.set(a.by, 'member');
            }
          } else if (a.kind === 'add') {
            const r = await api(server, 'POST', `${P}/conversations/${c.id}/participants`, { token: actor.token, json: { user_id: people[a.target].user.id } });
            const expected = !isMember ? 404 : !moderates(c, a.by) ? 403 : tenantOf(a.target) !== c.tenant ? 404 : c.members.has(a.target) ? 200 : 201;
            expect(r.status, JSON.stringify({ a, body: r.body })).toBe(expected);
            if (expected === 201) {
              c.members.set(a.target, 'added');
              c.roles.set(a.target, 'member');
            }
          } else if (a.kind === 'leave') {
            const r = await leaveOrRemove(server, actor, c.id, actor);
            // The last admin hands over before leaving others behind.
            const expected = !isMember ? 404 : c.roles.get(a.by) === 'admin' && admins(c) === 1 && c.members.size > 1 ? 400 : 204;
            expect(r.status, JSON.stringify({ a, body: r.body })).toBe(expected);
            if (expected === 204) gone(c, a.by);
          } else {
            const r = await leaveOrRemove(server, actor, c.id, people[a.target]);
            const self = a.target === a.by;
            const lastAdmin = (u: number) => c.roles.get(u) === 'admin' && admins(c) === 1 && c.members.size > 1;
            const expected = !isMember
              ? 404
              : self
                ? lastAdmin(a.by) ? 400 : 204
                : !moderates(c, a.by)
                  ? 403
                  : !c.members.has(a.target)
                    ? 404
                    : c.roles.get(a.target) === 'admin' && c.roles.get(a.by) !== 'admin'
                      ? 403
                      : lastAdmin(a.target) ? 400 : 204;
            expect(r.status, JSON.stringify({ a, body: r.body })).toBe(expected);
            if (expected === 204) gone(c, a.target);
          }
        }
        // The directory of every user: exactly the public channels of their tenant, with membership and counts.
        for (const [i, u] of people.entries()) {
          const expected = channels
            .filter((c) => c.tenant === tenantOf(i) && c.visibility === 'public')
            .map((c) => ({ id: c.id, is_member: c.members.has(i), member_count: c.members.size }))
            .sort((x, y) => x.id - y.id);
          const listed = (await directory(server, u, undefined, 3)).map((x) => ({ id: x.id, is_member: x.is_member, member_count: x.member_count }));
          expect(listed.sort((x, y) => x.id - y.id)).toEqual(expected);
        }
        // Membership as the server has it is the model's; in a channel never public, only by creation or an add.
        for (const c of channels) {
          for (const [i, u] of people.entries()) {
            const r = await api(server, 'GET', `${P}/conversations/${c.id}`, { token: u.token });
            expect(r.status, `user ${i} in channel ${c.id}`).toBe(c.members.has(i) ? 200 : 404);
          }
          if (!c.everPublic) for (const how of c.members.values()) expect(how).not.toBe('joined');
        }
      }),
      { numRuns: db === 'sqlite' ? 25 : 12, seed: 18 },
    );
  }, 180_000);
});
