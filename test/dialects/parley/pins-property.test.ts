// Issue 18, the pin rule as a property (core/messages/curation.ts, `pin_message` in
// core/conversations/permissions.ts): in a group only its admins and moderators pin and
// unpin, a message deleted for everyone cannot be pinned (and leaves the pins), someone not
// in the group reaches nothing. A run makes a group of four (user 0 its admin) and an
// outsider, and a random sequence of pins, unpins, role changes, deletes, leaves and adds by
// any of the five; a model keeps members, roles, deleted and pinned messages. Each step's
// answer is the model's (2xx, 403 or 404); after the run every member's pin list is the
// model's and the others' is a 404.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, type TestUser } from '../../helpers/clients.js';
import { users } from '../../helpers/dialects.js';
import { useParley } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';

const P = '/api/parley';
const N = 5; // users: 0 admin, 1–3 members, 4 an outsider
const M = 4; // messages, message i sent by user i
type Role = 'admin' | 'moderator' | 'member';

type Action =
  | { kind: 'pin' | 'unpin'; u: number; m: number }
  | { kind: 'role'; u: number; target: number; role: Role }
  | { kind: 'delete'; u: number; m: number }
  | { kind: 'leave'; u: number }
  | { kind: 'add'; u: number; target: number };

// User 0 (the first admin) half the time, so that roles get handed out and pins made, not only refused.
const user = fc.oneof(fc.constant(0), fc.nat(N - 1));
const message = fc.nat(M - 1);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('pin' as const, 'unpin' as const), u: user, m: message }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('role' as const), u: user, target: user, role: fc.constantFrom<Role>('admin', 'moderator', 'member') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), u: user, m: message }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), u: user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), u: user, target: user }) },
);

describe.each(databases)('who may pin, after any sequence (fast-check) on %s', (db) => {
  const server = useParley({ db });
  const call = (u: TestUser, method: string, path: string, json?: unknown) => api(server, method, P + path, { token: u.token, json });

  it('only admins and moderators of the group pin or unpin, whatever roles, leaves and deletes came before', { timeout: 120_000 }, async () => {
    const stats: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 8, maxLength: 24 }), async (actions) => {
        const people = await users(server, N);
        const created = await call(people[0], 'POST', '/conversations', { kind: 'group', title: 'pins', member_ids: people.slice(1, 4).map((p) => p.user.id) });
        expect(created.status).toBe(201);
        const g = created.body.id as number;
        const ids: number[] = [];
        for (let i = 0; i < M; i++) ids.push((await call(people[i], 'POST', `/conversations/${g}/messages`, { content: `m${i}` })).body.id);
        // The model.
        const role = new Map<number, Role>([[0, 'admin'], [1, 'member'], [2, 'member'], [3, 'member']]);
        const deleted = new Set<number>();
        const pinned = new Set<number>();
        const moderates = (u: number) => role.get(u) === 'admin' || role.get(u) === 'moderator';
        const admins = () => [...role.values()].filter((r) => r === 'admin').length;

        for (const [i, a] of actions.entries()) {
          const me = people[a.u];
          const member = role.has(a.u);
          let want: 'ok' | 403 | 404 | 'refused';
          let r;
          switch (a.kind) {
            case 'pin':
            case 'unpin': {
              r = await call(me, a.kind === 'pin' ? 'PUT' : 'DELETE', `/messages/${ids[a.m]}/pin`);
              want = !member ? 404 : !moderates(a.u) ? 403 : a.kind === 'pin' && deleted.has(a.m) ? 'refused' : 'ok';
              if (want === 'ok') (a.kind === 'pin' ? pinned.add(a.m) : pinned.delete(a.m));
              break;
            }
            case 'role': {
              r = await call(me, 'PATCH', `/conversations/${g}/participants/${people[a.target].user.id}`, { role: a.role });
              const target = role.get(a.target);
              want = !member ? 404 : role.get(a.u) !== 'admin' ? 403 : !target ? 404 : target === 'admin' && a.role !== 'admin' && admins() === 1 ? 'refused' : 'ok';
              if (want === 'ok') role.set(a.target, a.role);
              break;
            }
            case 'delete': {
              r = await call(me, 'DELETE', `/messages/${ids[a.m]}`);
              want = !member ? 404 : a.m !== a.u && !moderates(a.u) ? 403 : 'ok';
              if (want === 'ok') {
                deleted.add(a.m);
                pinned.delete(a.m);
              }
              break;
            }
            case 'leave': {
              r = await call(me, 'DELETE', `/conversations/${g}/participants/${me.user.id}`);
              want = !member ? 404 : role.get(a.u) === 'admin' && admins() === 1 && role.size > 1 ? 'refused' : 'ok';
              if (want === 'ok') role.delete(a.u);
              break;
            }
            case 'add': {
              r = await call(me, 'POST', `/conversations/${g}/participants`, { user_id: people[a.target].user.id });
              want = !member ? 404 : !moderates(a.u) ? 403 : 'ok';
              if (want === 'ok' && !role.has(a.target)) role.set(a.target, 'member');
              break;
            }
          }
          stats[`${a.kind} ${want}`] = (stats[`${a.kind} ${want}`] ?? 0) + 1;
          const why = `step ${i}: ${JSON.stringify(a)} → ${r.status} ${JSON.stringify(r.body)}`;
          if (want === 'ok') expect(r.status, why).toBeLessThan(300);
          else if (want === 'refused') expect([400, 403, 409, 410, 422], why).toContain(r.status);
          else expect(r.status, why).toBe(want);
          if (r.status >= 400) expect(r.body.detail, why).toBeTypeOf('string');
        }
        for (let u = 0; u < N; u++) {
          const pins = await call(people[u], 'GET', `/conversations/${g}/pins`);
          if (!role.has(u)) expect(pins.status, `pins of ${u}`).toBe(404);
          else expect(pins.body.map((p: { message: { id: number } }) => p.message.id).sort(), `pins of ${u}`).toEqual(ids.filter((_, m) => pinned.has(m)).sort());
        }
      }),
      { numRuns: Number(process.env.PINS_RUNS ?? 15), seed: Number(process.env.PINS_SEED ?? 1818) },
    );
    console.log(`pins property on ${db}: ${Object.entries(stats).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });
});
