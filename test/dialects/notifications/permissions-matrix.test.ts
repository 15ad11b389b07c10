// The role table (src/core/conversations/permissions.ts, README "Permissions") as a matrix:
// every action × every role (admin, moderator, member) × an outsider of the same tenant × a
// user of another tenant. Forbidden by role: 403; outside the conversation or tenant: 404
// (existence never leaks). Each cell runs on a fresh conversation and checks the effect (or
// its absence) afterwards. Then: the creator is admin, and the last admin cannot leave
// without handing over.
import { beforeAll, describe, expect, it } from 'vitest';
import { api, type ApiResponse, type TestUser } from '../../helpers/clients.js';
import { useParley, type TestServer } from '../../helpers/parley.js';
import { P, addParticipant, createConversation, databases, expectDetail, expectStatus, getMessage, nextError, sendMessage, settle, socket003, users, newTenant } from './support.js';

type Actor = 'admin' | 'moderator' | 'member' | 'outsider' | 'other tenant';
const ACTORS: Actor[] = ['admin', 'moderator', 'member', 'outsider', 'other tenant'];

interface People {
  owner: TestUser;
  admin: TestUser;
  moderator: TestUser;
  member: TestUser;
  /** A member the actions act on (removed, re-roled; sender of the message deleted). */
  target: TestUser;
  /** Someone not yet in, for "add participant". */
  newcomer: TestUser;
  outsider: TestUser;
  /** A user of another tenant. */
  foreign: TestUser;
}

interface Fixture extends People {
  conv: string;
  /** A message of `target`. */
  message: string;
}

interface Action {
  name: string;
  kind: 'group' | 'channel';
  /** Status by actor when allowed / forbidden by role / outside. */
  expected: Record<Actor, number>;
  run(server: TestServer, f: Fixture, actor: TestUser): Promise<ApiResponse>;
  /** Checks, as the owner, that the action took effect exactly when it was allowed. */
  effect(server: TestServer, f: Fixture, happened: boolean): Promise<void>;
}

const OUTSIDE = { outsider: 404, 'other tenant': 404 } as const;

const ACTIONS: Action[] = [
  {
    name: 'add participant',
    kind: 'group',
    expected: { admin: 201, moderator: 201, member: 403, ...OUTSIDE },
    run: (s, f, u) => api(s, 'POST', `${P}/conversations/${f.conv}/participants/`, { token: u.token, json: { user_id: f.newcomer.user.uuid, role: 'member' } }),
    async effect(s, f, happened) {
      const list = await api(s, 'GET', `${P}/conversations/${f.conv}/participants/`, { token: f.owner.token });
      expect(list.body.some((p: any) => p.user_id === f.newcomer.user.uuid)).toBe(happened);
    },
  },
  {
    name: 'remove participant',
    kind: 'group',
    expected: { admin: 204, moderator: 204, member: 403, ...OUTSIDE },
    run: (s, f, u) => api(s, 'DELETE', `${P}/conversations/${f.conv}/participants/${f.target.user.uuid}/`, { token: u.token }),
    async effect(s, f, happened) {
      const list = await api(s, 'GET', `${P}/conversations/${f.conv}/participants/`, { token: f.owner.token });
      expect(list.body.some((p: any) => p.user_id === f.target.user.uuid)).toBe(!happened);
    },
  },
  {
    name: 'rename',
    kind: 'group',
    expected: { admin: 200, moderator: 200, member: 403, ...OUTSIDE },
    run: (s, f, u) => api(s, 'PUT', `${P}/conversations/${f.conv}/`, { token: u.token, json: { title: 'Renamed' } }),
    async effect(s, f, happened) {
      const c = await api(s, 'GET', `${P}/conversations/${f.conv}/`, { token: f.owner.token });
      expect(c.body.title).toBe(happened ? 'Renamed' : 'Matrix');
    },
  },
  {
    name: 'delete conversation',
    kind: 'group',
    expected: { admin: 204, moderator: 403, member: 403, ...OUTSIDE },
    run: (s, f, u) => api(s, 'DELETE', `${P}/conversations/${f.conv}/`, { token: u.token }),
    async effect(s, f, happened) {
      const c = await api(s, 'GET', `${P}/conversations/${f.conv}/`, { token: f.owner.token });
      expect(c.status).toBe(happened ? 404 : 200);
    },
  },
  {
    name: "delete others' messages",
    kind: 'group',
    expected: { admin: 204, moderator: 204, member: 403, ...OUTSIDE },
    run: (s, f, u) => api(s, 'DELETE', `${P}/conversations/${f.conv}/messages/${f.message}/`, { token: u.token }),
    async effect(s, f, happened) {
      expect((await getMessage(s, f.owner, f.conv, f.message)).is_deleted).toBe(happened);
    },
  },
  {
    name: 'post in a channel',
    kind: 'channel',
    expected: { admin: 201, moderator: 201, member: 403, ...OUTSIDE },
    run: (s, f, u) => api(s, 'POST', `${P}/conversations/${f.conv}/messages/`, { token: u.token, json: { message_type: 'text', content: 'broadcast' } }),
    async effect(s, f, happened) {
      const list = await api(s, 'GET', `${P}/conversations/${f.conv}/messages/`, { token: f.owner.token });
      // The fixture's own message (the target's, sent by an admin in a channel) plus this one.
      expect(list.body.results.filter((m: any) => m.content === 'broadcast')).toHaveLength(happened ? 1 : 0);
    },
  },
  {
    name: 'change roles',
    kind: 'group',
    expected: { admin: 200, moderator: 403, member: 403, ...OUTSIDE },
    run: (s, f, u) => api(s, 'PUT', `${P}/conversations/${f.conv}/participants/${f.target.user.uuid}/`, { token: u.token, json: { role: 'moderator' } }),
    async effect(s, f, happened) {
      const list = await api(s, 'GET', `${P}/conversations/${f.conv}/participants/`, { token: f.owner.token });
      expect(list.body.find((p: any) => p.user_id === f.target.user.uuid).role).toBe(happened ? 'moderator' : 'member');
    },
  },
];

describe.each(databases)('003 permission matrix on %s', (db) => {
  const server = useParley({ db });
  let people: People;
  beforeAll(async () => {
    const [owner, admin, moderator, member, target, newcomer, outsider] = await users(server, 7);
    const [foreign] = await users(server, 1, { tenantId: newTenant() });
    people = { owner, admin, moderator, member, target, newcomer, outsider, foreign };
  });

  /** A fresh conversation: owner (creator, admin), admin, moderator, member, target; a message of the target. */
  async function fixture(kind: 'group' | 'channel'): Promise<Fixture> {
    const p = people;
    const conv = (await createConversation(server, p.owner, kind, 'Matrix')).id;
    await addParticipant(server, conv, p.owner, p.admin, 'admin');
    await addParticipant(server, conv, p.owner, p.moderator, 'moderator');
    await addParticipant(server, conv, p.owner, p.member, 'member');
    await addParticipant(server, conv, p.owner, p.target, 'member');
    // In a channel a member cannot post: the target's message is made while it is a moderator.
    if (kind === 'channel') expectStatus(await api(server, 'PUT', `${P}/conversations/${conv}/participants/${p.target.user.uuid}/`, { token: p.owner.token, json: { role: 'moderator' } }), 200);
    const message = (await sendMessage(server, p.target, conv, 'target says hi')).id;
    if (kind === 'channel') expectStatus(await api(server, 'PUT', `${P}/conversations/${conv}/participants/${p.target.user.uuid}/`, { token: p.owner.token, json: { role: 'member' } }), 200);
    return { ...p, conv, message };
  }

  const actorUser = (f: Fixture, a: Actor): TestUser =>
    ({ admin: f.admin, moderator: f.moderator, member: f.member, outsider: f.outsider, 'other tenant': f.foreign })[a];

  for (const action of ACTIONS) {
    describe(action.name, () => {
      for (const actor of ACTORS) {
        const status = action.expected[actor];
        it(`${actor} → ${status}`, async () => {
          const f = await fixture(action.kind);
          const res = await action.run(server, f, actorUser(f, actor));
          if (status >= 400) expectDetail(res, status, status === 404 ? /not found/i : undefined);
          else expectStatus(res, status);
          await action.effect(server, f, status < 400);
        });
      }
    });
  }

  it('the creator is admin, and has every right of the table', async () => {
    const f = await fixture('group');
    const list = await api(server, 'GET', `${P}/conversations/${f.conv}/participants/`, { token: f.owner.token });
    expect(list.body.find((p: any) => p.user_id === f.owner.user.uuid).role).toBe('admin');
    expect((await api(server, 'GET', `${P}/conversations/${f.conv}/`, { token: f.owner.token })).body).toMatchObject({ my_role: 'admin', created_by: f.owner.user.uuid });
    expectStatus(await api(server, 'PUT', `${P}/conversations/${f.conv}/participants/${f.target.user.uuid}/`, { token: f.owner.token, json: { role: 'moderator' } }), 200);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${f.conv}/messages/${f.message}/`, { token: f.owner.token }), 204);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${f.conv}/participants/${f.member.user.uuid}/`, { token: f.owner.token }), 204);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${f.conv}/`, { token: f.owner.token }), 204);
  });

  it('everyone posts in a group; in a channel a member\'s socket send gets an error frame and stores nothing', async () => {
    const g = await fixture('group');
    expectStatus(await api(server, 'POST', `${P}/conversations/${g.conv}/messages/`, { token: g.member.token, json: { content: 'member in a group' } }), 201);
    const c = await fixture('channel');
    const s = await socket003(server, c.member, [c.conv]);
    s.send({ type: 'send_message', conversation_id: c.conv, content: 'member in a channel', message_type: 'text' });
    await nextError(s);
    const list = await api(server, 'GET', `${P}/conversations/${c.conv}/messages/`, { token: c.owner.token });
    expect(list.body.results.map((m: any) => m.content)).not.toContain('member in a channel');
    // Members still read the channel.
    expectStatus(await api(server, 'GET', `${P}/conversations/${c.conv}/messages/`, { token: c.member.token }), 200);
  });

  it('a moderator adds only members, and cannot remove an admin', async () => {
    const f = await fixture('group');
    for (const role of ['moderator', 'admin']) {
      expectDetail(await api(server, 'POST', `${P}/conversations/${f.conv}/participants/`, { token: f.moderator.token, json: { user_id: f.newcomer.user.uuid, role } }), 403);
    }
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${f.conv}/participants/${f.admin.user.uuid}/`, { token: f.moderator.token }), 403);
    const list = await api(server, 'GET', `${P}/conversations/${f.conv}/participants/`, { token: f.owner.token });
    expect(list.body.map((p: any) => p.user_id)).toContain(f.admin.user.uuid);
    expect(list.body.map((p: any) => p.user_id)).not.toContain(f.newcomer.user.uuid);
  });

  // Issue 14, item 2: "add participant" was an upsert of the role. The property over any
  // sequence of requests is test/hardening/membership-roles-property.test.ts.
  it('adding someone who is a participant already changes nothing: 200, their role as it is, no event', async () => {
    const f = await fixture('group');
    const watcher = await socket003(server, f.owner, [f.conv]);
    // A moderator "re-adds" an admin as a member, then tries to remove them.
    const readd = await api(server, 'POST', `${P}/conversations/${f.conv}/participants/`, { token: f.moderator.token, json: { user_id: f.admin.user.uuid, role: 'member' } });
    expectStatus(readd, 200);
    expect(readd.body).toMatchObject({ user_id: f.admin.user.uuid, role: 'admin' });
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${f.conv}/participants/${f.admin.user.uuid}/`, { token: f.moderator.token }), 403);
    // An admin re-adding a member as admin does not promote them either: roles change through PUT.
    expect((await api(server, 'POST', `${P}/conversations/${f.conv}/participants/`, { token: f.admin.token, json: { user_id: f.member.user.uuid, role: 'admin' } })).body).toMatchObject({ role: 'member' });
    const list = await api(server, 'GET', `${P}/conversations/${f.conv}/participants/`, { token: f.owner.token });
    expect(Object.fromEntries(list.body.map((x: any) => [x.user_id, x.role]))).toEqual({
      [f.owner.user.uuid]: 'admin',
      [f.admin.user.uuid]: 'admin',
      [f.moderator.user.uuid]: 'moderator',
      [f.member.user.uuid]: 'member',
      [f.target.user.uuid]: 'member',
    });
    await settle(watcher);
    expect(watcher.frames.filter((x) => x.type.startsWith('participant_'))).toEqual([]);
  });

  it('the last admin cannot step down by adding themselves as a member', async () => {
    const p = people;
    const conv = (await createConversation(server, p.owner, 'group', 'Alone at the top')).id;
    await addParticipant(server, conv, p.owner, p.member);
    const self = await api(server, 'POST', `${P}/conversations/${conv}/participants/`, { token: p.owner.token, json: { user_id: p.owner.user.uuid, role: 'member' } });
    expectStatus(self, 200);
    expect(self.body.role).toBe('admin');
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${conv}/participants/${p.owner.user.uuid}/`, { token: p.owner.token }), [400, 409], /admin/i);
  });

  it('someone who left is added again as a new participant, by the same rules', async () => {
    const f = await fixture('group');
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${f.conv}/participants/${f.member.user.uuid}/`, { token: f.member.token }), 204);
    expectDetail(await api(server, 'POST', `${P}/conversations/${f.conv}/participants/`, { token: f.moderator.token, json: { user_id: f.member.user.uuid, role: 'moderator' } }), 403);
    const back = await api(server, 'POST', `${P}/conversations/${f.conv}/participants/`, { token: f.moderator.token, json: { user_id: f.member.user.uuid, role: 'member' } });
    expectStatus(back, 201);
    expect(back.body).toMatchObject({ user_id: f.member.user.uuid, role: 'member' });
  });

  it('only the sender edits a message, whatever the role', async () => {
    const f = await fixture('group');
    for (const u of [f.owner, f.admin, f.moderator, f.member]) {
      expectDetail(await api(server, 'PUT', `${P}/conversations/${f.conv}/messages/${f.message}/`, { token: u.token, json: { content: 'not yours' } }), 403);
    }
    expectStatus(await api(server, 'PUT', `${P}/conversations/${f.conv}/messages/${f.message}/`, { token: f.target.token, json: { content: 'mine' } }), 200);
    expect((await getMessage(server, f.owner, f.conv, f.message)).content).toBe('mine');
  });

  it('any member may leave (DELETE participants/{own uuid}/)', async () => {
    const f = await fixture('group');
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${f.conv}/participants/${f.member.user.uuid}/`, { token: f.member.token }), 204);
    expectDetail(await api(server, 'GET', `${P}/conversations/${f.conv}/`, { token: f.member.token }), 404);
  });

  it('the last admin cannot leave or step down until someone else is admin', async () => {
    const p = people;
    const conv = (await createConversation(server, p.owner, 'group', 'Handover')).id;
    await addParticipant(server, conv, p.owner, p.member);
    await addParticipant(server, conv, p.owner, p.moderator, 'moderator');

    expectDetail(await api(server, 'DELETE', `${P}/conversations/${conv}/participants/${p.owner.user.uuid}/`, { token: p.owner.token }), [400, 409], /admin/i);
    expectDetail(await api(server, 'PUT', `${P}/conversations/${conv}/participants/${p.owner.user.uuid}/`, { token: p.owner.token, json: { role: 'member' } }), [400, 409], /admin/i);
    expectStatus(await api(server, 'GET', `${P}/conversations/${conv}/`, { token: p.owner.token }), 200);

    // Hand over, then leave.
    const promoted = await api(server, 'PUT', `${P}/conversations/${conv}/participants/${p.member.user.uuid}/`, { token: p.owner.token, json: { role: 'admin' } });
    expectStatus(promoted, 200);
    expect(promoted.body).toMatchObject({ user_id: p.member.user.uuid, role: 'admin' });
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/participants/${p.owner.user.uuid}/`, { token: p.owner.token }), 204);
    expectDetail(await api(server, 'GET', `${P}/conversations/${conv}/`, { token: p.owner.token }), 404);

    const list = await api(server, 'GET', `${P}/conversations/${conv}/participants/`, { token: p.member.token });
    expect(Object.fromEntries(list.body.map((x: any) => [x.user_id, x.role]))).toEqual({ [p.member.user.uuid]: 'admin', [p.moderator.user.uuid]: 'moderator' });
    // The new admin is now the last one.
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${conv}/participants/${p.member.user.uuid}/`, { token: p.member.token }), [400, 409], /admin/i);
    expectStatus(await api(server, 'PUT', `${P}/conversations/${conv}/`, { token: p.member.token, json: { title: 'Mine now' } }), 200);
  });

  it('a direct conversation has fixed participants', async () => {
    const p = people;
    const d = await createConversation(server, p.owner, 'direct', null, { participant_ids: [p.member.user.uuid] });
    expectDetail(await api(server, 'POST', `${P}/conversations/${d.id}/participants/`, { token: p.owner.token, json: { user_id: p.newcomer.user.uuid } }), [400, 403]);
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${d.id}/participants/${p.member.user.uuid}/`, { token: p.owner.token }), [400, 403]);
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${d.id}/`, { token: p.owner.token }), [400, 403]);
    expect((await api(server, 'GET', `${P}/conversations/${d.id}/`, { token: p.member.token })).body.participant_count).toBe(2);
  });
});
