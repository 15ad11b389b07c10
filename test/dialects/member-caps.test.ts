// Forced membership (README "Security"): a group or channel holds at most
// MAX_CONVERSATION_MEMBERS people, and one call adds at most MAX_MEMBERS_PER_ADD. The cap is a
// bound that concurrent adds, through one process or two, cannot overshoot; the member count
// every room list shows is the participants' number.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { databases, hasPostgres } from '../helpers/pg.js';
import { useParley, type TestServer, useTwoProcesses } from '../helpers/parley.js';

const N = '/api/notifications/chat';
const CAP = 6;
const PER_ADD = 3;
const env = { MAX_CONVERSATION_MEMBERS: String(CAP), MAX_MEMBERS_PER_ADD: String(PER_ADD) };

async function people(server: TestServer, n: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => newUser(server)));
}

/** The count every listing shows, and the participants, of `owner`'s conversation `id`. */
async function counts(server: TestServer, owner: TestUser, id: number) {
  const parley = await api(server, 'GET', `/api/parley/conversations/${id}`, { token: owner.token });
  const list = await api(server, 'GET', '/api/parley/conversations?limit=200', { token: owner.token });
  const rooms = await api(server, 'GET', '/api/chat/rooms', { token: owner.token });
  const n003 = await api(server, 'GET', `${N}/conversations/${parley.body.uuid}/`, { token: owner.token });
  const participants = await api(server, 'GET', `/api/parley/conversations/${id}/participants`, { token: owner.token });
  return {
    memberCount: parley.body.member_count as number,
    inList: list.body.find((c) => c.id === id)!.member_count,
    chat: rooms.body.rooms.find((r: { id: number }) => r.id === id).participant_count as number,
    n003: n003.body.participant_count as number,
    participants: participants.body.length as number,
  };
}

describe.each(databases)('member caps on %s', (db) => {
  const server = useParley({ db, env });

  it('one call names at most MAX_MEMBERS_PER_ADD people, in every dialect', async () => {
    const [owner, ...others] = await people(server, PER_ADD + 2);
    const tooMany = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'g', member_ids: others.map((u) => u.user.id) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual({ detail: `Add at most ${PER_ADD} people at a time`, code: 'too_many_members' });
    const n003 = await api(server, 'POST', `${N}/conversations/`, { token: owner.token, json: { conversation_type: 'group', title: 'g', participant_ids: others.map((u) => u.user.uuid) } });
    expect(n003.status).toBe(400);
    expect(Object.keys(n003.body)).toEqual(['detail']);
    const ok = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'g', member_ids: others.slice(0, PER_ADD).map((u) => u.user.id) } });
    expect(ok.status).toBe(201);
    expect(ok.body.member_count).toBe(PER_ADD + 1);
  });

  it('a group holds at most MAX_CONVERSATION_MEMBERS; past it an add is 409 and changes nothing', async () => {
    const [owner, ...others] = await people(server, CAP + 1);
    const g = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'channel', title: 'c', member_ids: others.slice(0, PER_ADD).map((u) => u.user.id) } });
    for (const u of others.slice(PER_ADD, CAP - 1)) {
      expect((await api(server, 'POST', `/api/parley/conversations/${g.body.id}/participants`, { token: owner.token, json: { user_id: u.user.id } })).status).toBe(201);
    }
    const full = await api(server, 'POST', `${N}/conversations/${g.body.uuid}/participants/`, { token: owner.token, json: { user_id: others[CAP - 1].user.uuid } });
    expect(full.status).toBe(409);
    expect(full.body).toEqual({ detail: 'This conversation has reached its member limit' });
    expect(await counts(server, owner, g.body.id)).toEqual({ memberCount: CAP, inList: CAP, chat: CAP, n003: CAP, participants: CAP });
    // Someone leaves: there is room again.
    expect((await api(server, 'DELETE', `/api/parley/conversations/${g.body.id}/participants/${others[0].user.id}`, { token: others[0].token })).status).toBe(204);
    expect((await api(server, 'POST', `/api/parley/conversations/${g.body.id}/participants`, { token: owner.token, json: { user_id: others[CAP - 1].user.id } })).status).toBe(201);
    expect((await counts(server, owner, g.body.id)).participants).toBe(CAP);
  });

  it('invariant: after any sequence of concurrent adds, removals and leaves, the count is the participants and never above the cap', async () => {
    const pool = await people(server, CAP + 4);
    const [owner, ...others] = pool;
    const op = fc.record({ who: fc.integer({ min: 0, max: others.length - 1 }), kind: fc.constantFrom('add', 'add', 'remove', 'leave') });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }), async (batches) => {
        const g = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'g' } });
        for (const batch of batches) {
          // Each batch at once: the cap must hold against adds that race each other.
          await Promise.all(
            batch.map(({ who, kind }) => {
              const u = others[who];
              if (kind === 'add') return api(server, 'POST', `/api/parley/conversations/${g.body.id}/participants`, { token: owner.token, json: { user_id: u.user.id } });
              return api(server, 'DELETE', `/api/parley/conversations/${g.body.id}/participants/${u.user.id}`, { token: kind === 'leave' ? u.token : owner.token });
            }),
          );
          const c = await counts(server, owner, g.body.id);
          expect(c.participants).toBeLessThanOrEqual(CAP);
          expect(c).toEqual({ memberCount: c.participants, inList: c.participants, chat: c.participants, n003: c.participants, participants: c.participants });
        }
      }),
      { numRuns: db === 'sqlite' ? 12 : 6 },
    );
  }, 120_000);
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!hasPostgres || !redisUrl)('member cap with two processes on one PostgreSQL', () => {
  const [a, b] = useTwoProcesses(env);

  it('adds racing through both processes never take a group past the cap', async () => {
    const [owner, ...others] = await people(a, CAP + 5);
    for (let round = 0; round < 4; round++) {
      const g = await api(a, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: `g${round}`, member_ids: others.slice(0, 2).map((u) => u.user.id) } });
      const rest = others.slice(2);
      const answers = await Promise.all(
        rest.map((u, i) => api(i % 2 ? b : a, 'POST', `/api/parley/conversations/${g.body.id}/participants`, { token: owner.token, json: { user_id: u.user.id } })),
      );
      expect(answers.filter((r) => r.status === 201)).toHaveLength(CAP - 3);
      expect(answers.filter((r) => r.status === 409)).toHaveLength(rest.length - (CAP - 3));
      expect(await counts(a, owner, g.body.id)).toEqual({ memberCount: CAP, inList: CAP, chat: CAP, n003: CAP, participants: CAP });
    }
  });
});
