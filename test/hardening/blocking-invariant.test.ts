// The blocking rule as an invariant (README "Security", forced membership): after any sequence
// of block / unblock / friend request / direct message (through every dialect that opens or
// sends one) / add to a group / leave, by any of three people,
// - no message is stored in a direct conversation between two people while either blocks the
//   other, and every message the model allows is stored (once);
// - a blocked person never adds the blocker to anything;
// - each answer is the one a sequential model of the rule gives.
// Run against the real server (REST and sockets), compared step by step with the model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, chatSocket, newUser, type TestSocket, type TestUser } from '../helpers/clients.js';
import { databases } from '../helpers/pg.js';
import { useParley } from '../helpers/parley.js';

const N = '/api/notifications/chat';
const PEOPLE = 3;

type Via = 'chat' | 'n003' | 'parley' | 'v004';
type Act =
  | { t: 'block' | 'unblock' | 'friend'; a: number; b: number }
  | { t: 'dm'; a: number; b: number; via: Via }
  | { t: 'add'; a: number; b: number; via: 'n003' | 'parley' }
  | { t: 'leave'; a: number; b: number };

const person = fc.integer({ min: 0, max: PEOPLE - 1 });
const two = fc.tuple(person, person).filter(([a, b]) => a !== b);
const act: fc.Arbitrary<Act> = fc.oneof(
  { weight: 2, arbitrary: two.chain(([a, b]) => fc.constantFrom<Act>({ t: 'block', a, b }, { t: 'unblock', a, b })) },
  { weight: 1, arbitrary: two.map(([a, b]): Act => ({ t: 'friend', a, b })) },
  { weight: 4, arbitrary: fc.tuple(two, fc.constantFrom<Via>('chat', 'n003', 'parley', 'v004')).map(([[a, b], via]): Act => ({ t: 'dm', a, b, via })) },
  { weight: 2, arbitrary: fc.tuple(two, fc.constantFrom<'n003' | 'parley'>('n003', 'parley')).map(([[a, b], via]): Act => ({ t: 'add', a, b, via })) },
  { weight: 1, arbitrary: two.map(([a, b]): Act => ({ t: 'leave', a, b })) },
);

/** The rule, sequentially. */
class Model {
  readonly blocks = new Set<string>(); // "x>y": x blocks y
  readonly friends = new Map<string, { status: 'pending' | 'accepted'; by: number }>();
  readonly dms = new Map<string, number>();
  readonly groups: Set<number>[] = Array.from({ length: PEOPLE }, () => new Set<number>());
  static pair = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);
  blockedEither = (a: number, b: number) => this.blocks.has(`${a}>${b}`) || this.blocks.has(`${b}>${a}`);
  accepted = (a: number, b: number) => this.friends.get(Model.pair(a, b))?.status === 'accepted';
}

describe.each(databases)('blocking invariant on %s', (db) => {
  const server = useParley({ db });

  it('no direct message passes a block, and the blocked never add the blocker, after any sequence of actions', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(act, { minLength: 4, maxLength: 22 }), async (acts) => {
        run++;
        const u: TestUser[] = await Promise.all(Array.from({ length: PEOPLE }, () => newUser(server)));
        const groups: number[] = [];
        for (const x of u) groups.push((await api(server, 'POST', '/api/parley/conversations', { token: x.token, json: { kind: 'group', title: 'g' } })).body.id);
        const sockets: TestSocket[] = await Promise.all(u.map((x) => chatSocket(server, x)));
        const m = new Model();
        let n = 0;
        const dmTotal = async (a: number, b: number) =>
          (await api(server, 'GET', `/api/v1/chat/messages/history/${u[b].user.uuid}?limit=1`, { token: u[a].token })).body.total as number;
        const members = async (a: number) =>
          new Set(
            ((await api(server, 'GET', `/api/parley/conversations/${groups[a]}/participants`, { token: u[a].token })).body as { user: { id: number } }[])
              .map((x) => u.findIndex((y) => y.user.id === x.user.id))
              .filter((i) => i !== a),
          );
        try {
          for (const x of acts) {
            const { a, b } = x;
            const where = `run ${run}, ${JSON.stringify(x)}`;
            switch (x.t) {
              case 'block': {
                expect((await api(server, 'POST', `/api/friends/${u[b].user.id}/block`, { token: u[a].token })).status, where).toBe(200);
                m.blocks.add(`${a}>${b}`);
                m.friends.delete(Model.pair(a, b));
                break;
              }
              case 'unblock': {
                const r = await api(server, 'DELETE', `/api/friends/${u[b].user.id}/block`, { token: u[a].token });
                expect(r.status, where).toBe(m.blocks.delete(`${a}>${b}`) ? 200 : 404);
                break;
              }
              case 'friend': {
                const r = await api(server, 'POST', '/api/friends', { token: u[a].token, json: { user_id: u[b].user.id } });
                if (m.blockedEither(a, b)) {
                  expect(r.status, where).toBe(403);
                  break;
                }
                const f = m.friends.get(Model.pair(a, b));
                const next = f?.status === 'accepted' || (f && f.by === b) ? 'accepted' : 'pending';
                expect(r.body.status, where).toBe(next);
                m.friends.set(Model.pair(a, b), { status: next, by: f?.by ?? a });
                break;
              }
              case 'dm': {
                const allowed = !m.blockedEither(a, b) && (x.via !== 'v004' || m.accepted(a, b));
                const before = m.dms.get(Model.pair(a, b)) ?? 0;
                const content = `m${++n}`;
                let ok: boolean;
                if (x.via === 'chat') {
                  const tid = `t${run}-${n}`;
                  sockets[a].send({ type: 'send_message', data: { receiver_id: u[b].user.id, content, local_temp_id: tid } });
                  const f = await sockets[a].next(null, { where: (f) => (f.type === 'new_message' || f.type === 'error') && (f.data?.local_temp_id ?? f.local_temp_id) === tid });
                  ok = f.type === 'new_message';
                } else if (x.via === 'v004') {
                  ok = (await api(server, 'POST', '/api/v1/chat/messages/', { token: u[a].token, json: { receiver_id: u[b].user.uuid, content } })).status === 200;
                } else if (x.via === 'n003') {
                  const c = await api(server, 'POST', `${N}/conversations/`, { token: u[a].token, json: { conversation_type: 'direct', participant_ids: [u[b].user.uuid] } });
                  ok = c.status === 201 && (await api(server, 'POST', `${N}/conversations/${c.body.id}/messages/`, { token: u[a].token, json: { content } })).status === 201;
                } else {
                  const c = await api(server, 'POST', '/api/parley/conversations', { token: u[a].token, json: { kind: 'direct', user_id: u[b].user.id } });
                  ok = c.status === 201 && (await api(server, 'POST', `/api/parley/conversations/${c.body.id}/messages`, { token: u[a].token, json: { content } })).status === 201;
                }
                expect(ok, where).toBe(allowed);
                if (allowed) m.dms.set(Model.pair(a, b), before + 1);
                // What is stored is what the model allowed: nothing passed a block.
                expect(await dmTotal(a, b), where).toBe(m.dms.get(Model.pair(a, b)) ?? 0);
                break;
              }
              case 'add': {
                if (m.groups[a].has(b)) break; // adding a member again is another rule's (README "Permissions")
                const r =
                  x.via === 'n003'
                    ? await api(server, 'POST', `${N}/conversations/${(await api(server, 'GET', `/api/parley/conversations/${groups[a]}`, { token: u[a].token })).body.uuid}/participants/`, {
                        token: u[a].token,
                        json: { user_id: u[b].user.uuid },
                      })
                    : await api(server, 'POST', `/api/parley/conversations/${groups[a]}/participants`, { token: u[a].token, json: { user_id: u[b].user.id } });
                const allowed = !m.blocks.has(`${b}>${a}`);
                expect(r.status, where).toBe(allowed ? 201 : 403);
                if (allowed) m.groups[a].add(b);
                break;
              }
              case 'leave': {
                if (!m.groups[a].has(b)) break;
                expect((await api(server, 'DELETE', `/api/parley/conversations/${groups[a]}/participants/${u[b].user.id}`, { token: u[b].token })).status, where).toBe(204);
                m.groups[a].delete(b);
                break;
              }
            }
          }
          // Every group holds exactly whom the model let in.
          for (let a = 0; a < PEOPLE; a++) expect(await members(a), `run ${run}, group of ${a}`).toEqual(m.groups[a]);
          for (let a = 0; a < PEOPLE; a++) for (let b = a + 1; b < PEOPLE; b++) expect(await dmTotal(a, b)).toBe(m.dms.get(Model.pair(a, b)) ?? 0);
        } finally {
          for (const s of sockets) s.close();
        }
      }),
      { numRuns: db === 'sqlite' ? 14 : 6 },
    );
  }, 240_000);
});
