// Issue 14, item 2, as a property: membership and roles of a group or channel follow the
// permission table (README "Permissions", src/core/conversations/permissions.ts) after any
// sequence of requests, whoever makes them.
//
// A run creates a group or a channel (its creator is its admin), then makes a random sequence
// of add / remove / set-role / leave requests by random actors — its admins, moderators and
// members, users of the tenant outside it, a user of another tenant — on random targets with
// random roles, each through 003's REST (/api/notifications/chat, uuids) or Parley's
// (/api/parley, integer ids). Every step is compared with a sequential model of the table:
// the status, and the participants with their roles afterwards. After every step, also
// checked on the server's own answers alone (not the model's):
// - a conversation with participants has at least one admin;
// - whoever's role changed was changed by an admin, through set-role (adding someone who is
//   there already changes nothing); a newcomer's role above member was granted by an admin;
//   an admin was removed only by an admin or by leaving.
// ROLES_RUNS (default 50, 20 in CI) runs per database, seeded by ROLES_SEED (default 20261205;
// `random` for a fresh one); ROLES_SHRINK=1 shrinks a failure to a minimal sequence.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { newTenant } from '../dialects/notifications/support.js';
import { ciForm } from '../helpers/ci-form.js';

const RUNS = Number(process.env.ROLES_RUNS ?? ciForm(50, 20));
const SEED = process.env.ROLES_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.ROLES_SEED ?? 20261205);

type Role = 'admin' | 'moderator' | 'member';

/** Users 0–4 share a tenant; user 5 is of another tenant. User 0 creates each conversation. */
const PEOPLE = 6;
const FOREIGN = 5;

type Members = Map<number, Role>;

interface Step {
  action: 'add' | 'remove' | 'set_role' | 'leave';
  /** The actor: one of the current participants (by position) when `actorInside`, else anyone. */
  actorInside: boolean;
  actor: number;
  /** The same for the target: 0–9, inside below 3 for an add (mostly newcomers), below 8 otherwise. */
  targetInside: number;
  target: number;
  role: Role;
  dialect: '003' | 'parley';
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  action: fc.constantFrom<Step['action']>('add', 'add', 'add', 'add', 'set_role', 'set_role', 'set_role', 'remove', 'remove', 'leave'),
  // Mostly participants act (outsiders only ever get 404).
  actorInside: fc.nat(9).map((n) => n < 8),
  actor: fc.nat(PEOPLE * 4),
  targetInside: fc.nat(9),
  target: fc.nat(PEOPLE * 4),
  role: fc.constantFrom<Role>('member', 'member', 'moderator', 'admin'),
  dialect: fc.constantFrom<Step['dialect']>('003', 'parley'),
});

const admins = (m: Members) => [...m.values()].filter((r) => r === 'admin').length;

/**
 * The permission table as a sequential model: the status a request gets and the
 * participants after it. Order of the checks as the table reads: not a participant (404),
 * the actor's role (403), the target (404), then the last-admin rule (400).
 */
function model(m: Members, actor: number, step: Step): { status: number; after: Members } {
  const after = new Map(m);
  const mine = actor === FOREIGN ? undefined : m.get(actor);
  if (mine === undefined) return { status: 404, after };
  const target = step.action === 'leave' ? actor : step.target;
  const theirs = m.get(target);
  switch (step.action) {
    case 'add': {
      if (mine === 'member') return { status: 403, after };
      // Only an admin hands out admin or moderator.
      if (step.role !== 'member' && mine !== 'admin') return { status: 403, after };
      if (target === FOREIGN) return { status: 404, after };
      // Already there: answered with the membership as it is, nothing changes.
      if (theirs !== undefined) return { status: 200, after };
      after.set(target, step.role);
      return { status: 201, after };
    }
    case 'remove':
    case 'leave': {
      if (target !== actor) {
        if (mine === 'member') return { status: 403, after };
        if (target === FOREIGN || theirs === undefined) return { status: 404, after };
        if (theirs === 'admin' && mine !== 'admin') return { status: 403, after };
      }
      if (theirs === 'admin' && admins(m) === 1 && m.size > 1) return { status: 400, after };
      after.delete(target);
      return { status: 204, after };
    }
    case 'set_role': {
      if (mine !== 'admin') return { status: 403, after };
      if (target === FOREIGN || theirs === undefined) return { status: 404, after };
      if (theirs === 'admin' && step.role !== 'admin' && admins(m) === 1) return { status: 400, after };
      after.set(target, step.role);
      return { status: 200, after };
    }
  }
}

/**
 * What the table allows between two states of the server, whatever the model says: `before`
 * and `after` are the server's participants around one request of `actor` (with its role in
 * `before`) that the server answered with `status`.
 */
function expectAllowedChange(before: Members, after: Members, actor: number, step: Step, status: number, where: string): void {
  const by = before.get(actor);
  if (after.size > 0) expect(admins(after), `${where}: a conversation with participants has an admin`).toBeGreaterThanOrEqual(1);
  for (const [user, role] of after) {
    const was = before.get(user);
    if (was === undefined) {
      // A newcomer: added by an admin, or as a member by a moderator.
      expect(step.action, `${where}: user ${user} appeared`).toBe('add');
      expect(by === 'admin' || (by === 'moderator' && role === 'member'), `${where}: user ${user} added as ${role} by a ${by}`).toBe(true);
    } else if (was !== role) {
      // Only an admin changes a role, and only through set-role.
      expect(step.action, `${where}: user ${user} went from ${was} to ${role} by ${step.action}`).toBe('set_role');
      expect(by, `${where}: user ${user} went from ${was} to ${role}`).toBe('admin');
    }
  }
  for (const [user, role] of before) {
    if (after.has(user)) continue;
    const left = user === actor && (step.action === 'leave' || step.action === 'remove');
    expect(left || by === 'admin' || (by === 'moderator' && role !== 'admin'), `${where}: user ${user} (${role}) removed by a ${by}`).toBe(true);
  }
  if (status >= 400) expect([...after], `${where}: a refused request changes nothing`).toEqual([...before]);
}

describe.each(databases)('membership and roles follow the permission table (fast-check) on %s', (db) => {
  const server = useParley({ db });
  let people: TestUser[];
  beforeAll(async () => {
    const foreignTenant = newTenant();
    people = await Promise.all(Array.from({ length: PEOPLE }, (_, i) => newUser(server, { name: `P${i}`, ...(i === FOREIGN ? { tenantId: foreignTenant } : {}) })));
  });

  const indexOf = (userId: number) => people.findIndex((p) => p.user.id === userId);
  /** What the runs exercised, printed at the end: answers by action, and the largest membership. */
  const stats: Record<string, number> = {};

  /** The participants as the server has them (its store: also when nobody is left to ask). */
  async function serverMembers(conversationId: number): Promise<Members> {
    const list = await server.parley.store.members([conversationId]);
    return new Map(list.map((m) => [indexOf(m.user.id), m.participant.role]));
  }

  /** The same through Parley's and 003's REST, as a participant sees it. */
  async function restMembers(conv: { id: number; uuid: string }, asker: TestUser): Promise<Members> {
    const p = await api(server, 'GET', `/api/parley/conversations/${conv.id}/participants`, { token: asker.token });
    const n = await api(server, 'GET', `/api/notifications/chat/conversations/${conv.uuid}/participants/`, { token: asker.token });
    expect([p.status, n.status]).toEqual([200, 200]);
    const fromParley = new Map<number, Role>(p.body.map((m: any) => [indexOf(m.user.id), m.role]));
    const fromNotifications = new Map<number, Role>(n.body.map((m: any) => [people.findIndex((x) => x.user.uuid === m.user_id), m.role]));
    expect([...fromNotifications].sort()).toEqual([...fromParley].sort());
    return fromParley;
  }

  function request(conv: { id: number; uuid: string }, actor: number, step: Step) {
    const token = people[actor].token;
    const target = people[step.action === 'leave' ? actor : step.target].user;
    if (step.dialect === 'parley') {
      const base = `/api/parley/conversations/${conv.id}/participants`;
      switch (step.action) {
        case 'add':
          return api(server, 'POST', base, { token, json: { user_id: target.id, role: step.role } });
        case 'set_role':
          return api(server, 'PATCH', `${base}/${target.id}`, { token, json: { role: step.role } });
        default:
          return api(server, 'DELETE', `${base}/${target.id}`, { token });
      }
    }
    const base = `/api/notifications/chat/conversations/${conv.uuid}/participants/`;
    switch (step.action) {
      case 'add':
        return api(server, 'POST', base, { token, json: { user_id: target.uuid, role: step.role } });
      case 'set_role':
        return api(server, 'PUT', `${base}${target.uuid}/`, { token, json: { role: step.role } });
      default:
        return api(server, 'DELETE', `${base}${target.uuid}/`, { token });
    }
  }

  async function run(kind: 'group' | 'channel', steps: Step[]): Promise<void> {
    const created = await api(server, 'POST', '/api/parley/conversations', { token: people[0].token, json: { kind, title: `roles ${kind}` } });
    expect(created.status).toBe(201);
    const conv = { id: created.body.id as number, uuid: created.body.uuid as string };
    let members: Members = new Map([[0, 'admin']]);
    expect(await serverMembers(conv.id)).toEqual(members);

    for (const [i, drawn] of steps.entries()) {
      const inside = [...members.keys()].sort((a, b) => a - b);
      const pick = (isInside: boolean, n: number) => (isInside && inside.length > 0 ? inside[n % inside.length] : n % PEOPLE);
      const actor = pick(drawn.actorInside, drawn.actor);
      const target = drawn.action === 'leave' ? actor : pick(drawn.targetInside < (drawn.action === 'add' ? 3 : 8), drawn.target);
      const step = { ...drawn, target };
      const where = `${kind} step ${i}: P${actor} (${members.get(actor) ?? 'outside'}) ${step.action} P${target} (${members.get(target) ?? 'outside'})${step.action === 'add' || step.action === 'set_role' ? ` as ${step.role}` : ''} via ${step.dialect}`;
      const expected = model(members, actor, step);

      const res = await request(conv, actor, step);
      const after = await serverMembers(conv.id);
      expectAllowedChange(members, after, actor, step, res.status, where);
      expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBe(expected.status);
      if (res.status >= 400) expect(res.body.detail, where).toBeTypeOf('string');
      else if (res.status !== 204) expect(res.body.role ?? res.body, `${where}: the membership answered`).toBe(after.get(target));
      expect([...after].sort(), `${where}: participants and roles`).toEqual([...expected.after].sort());
      const stat = members.size === 0 ? 'on an empty conversation' : `${step.action} ${res.status}`;
      stats[stat] = (stats[stat] ?? 0) + 1;
      // Everyone left: every request is a 404 from here on (checked once).
      if (members.size === 0) break;
      stats['largest membership'] = Math.max(stats['largest membership'] ?? 0, after.size);
      members = after;
      if (members.size > 0) {
        const asker = people[[...members.keys()][0]];
        expect([...(await restMembers(conv, asker))].sort(), `${where}: as REST shows them`).toEqual([...members].sort());
      }
    }
  }

  it('two admins demoting each other (or removing each other) at the same moment: one admin is left', async () => {
    const [a, b, c] = people;
    for (let i = 0; i < 10; i++) {
      const g = await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'group', title: 'coup', member_ids: [b.user.id, c.user.id] } });
      expect((await api(server, 'PATCH', `/api/parley/conversations/${g.body.id}/participants/${b.user.id}`, { token: a.token, json: { role: 'admin' } })).status).toBe(200);
      const [x, y] =
        i % 2
          ? await Promise.all([
              api(server, 'PATCH', `/api/parley/conversations/${g.body.id}/participants/${b.user.id}`, { token: a.token, json: { role: 'member' } }),
              api(server, 'PUT', `/api/notifications/chat/conversations/${g.body.uuid}/participants/${a.user.uuid}/`, { token: b.token, json: { role: 'member' } }),
            ])
          : await Promise.all([
              api(server, 'DELETE', `/api/parley/conversations/${g.body.id}/participants/${a.user.id}`, { token: a.token }),
              api(server, 'DELETE', `/api/notifications/chat/conversations/${g.body.uuid}/participants/${b.user.uuid}/`, { token: b.token }),
            ]);
      // Either one wins and the other is refused as the last admin, or the second is refused
      // because its actor is no admin (or no participant) any more.
      expect([x.status, y.status].filter((st) => st < 300), JSON.stringify([x.body, y.body])).toHaveLength(1);
      const left = await server.parley.store.members([g.body.id]);
      expect(left.filter((m) => m.participant.role === 'admin'), JSON.stringify([x.body, y.body])).toHaveLength(1);
    }
  });

  it(`fast-check, ${RUNS} runs (seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 5_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<'group' | 'channel'>('group', 'channel'), fc.array(stepArb, { minLength: 1, maxLength: 30, size: 'max' }), run),
      { numRuns: RUNS, seed: SEED, endOnFailure: process.env.ROLES_SHRINK !== '1', verbose: 1 },
    );
    console.log(`[roles ${db}] ${JSON.stringify(Object.fromEntries(Object.entries(stats).sort()))}`);
  });
});
