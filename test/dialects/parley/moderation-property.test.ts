// Issue 20, moderation's rules as a property (core/moderation/moderation.ts). A run makes a
// group of four (user 0 its admin), an outsider (4) and uses the tenant's admin (T, in no
// group), each with a Parley socket, and a random sequence of bans, mutes, unbans, unmutes,
// adds, role changes, sends, deletes, reports and report resolutions by any of them. A model
// keeps roles, bans, mutes, deletions and report states; each step's answer is the model's
// (2xx, 403, 404, or another 4xx refusal). After the run: the members are the model's and no
// banned user is one; no banned user's socket got a frame of the group after their ban; every
// send refused while muted is absent from the history; every report is in exactly one state,
// the model's, seen the same by its reporter and the queue.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, parleySocket as followAll, type TestUser } from '../../helpers/clients.js';
import { users } from '../../helpers/dialects.js';
import { useParley } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';

const P = '/api/parley';
const N = 5; // 0 admin, 1–3 members, 4 an outsider; index N is the tenant admin
const T = N;
const M = 4; // messages, message i sent by user i
type Role = 'admin' | 'moderator' | 'member';
type State = 'open' | 'dismissed' | 'deleted' | 'muted' | 'banned';
type Sanction = 'ban' | 'mute';

type Action =
  | { kind: Sanction | 'unban' | 'unmute'; u: number; target: number }
  | { kind: 'add'; u: number; target: number }
  | { kind: 'role'; u: number; target: number; role: Role }
  | { kind: 'send'; u: number }
  | { kind: 'delete'; u: number; m: number }
  | { kind: 'report'; u: number; m: number }
  | { kind: 'resolve'; u: number; r: number; action: 'dismiss' | 'delete' | 'mute' | 'ban' };

const actor = fc.oneof(fc.constant(0), fc.constant(T), fc.nat(N - 1));
const target = fc.nat(N - 1);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('ban' as const, 'mute' as const), u: actor, target }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('unban' as const, 'unmute' as const), u: actor, target }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add' as const), u: actor, target }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('role' as const), u: actor, target, role: fc.constantFrom<Role>('admin', 'moderator', 'member') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), u: target }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), u: actor, m: fc.nat(M - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('report' as const), u: target, m: fc.nat(M - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('resolve' as const), u: actor, r: fc.nat(3), action: fc.constantFrom('dismiss' as const, 'delete' as const, 'mute' as const, 'ban' as const) }) },
);

describe.each(databases)('moderation after any sequence (fast-check) on %s', (db) => {
  const server = useParley({ db });
  const call = (u: TestUser, method: string, path: string, json?: unknown) => api(server, method, P + path, { token: u.token, json });

  const parleySocket = (u: TestUser) => followAll(server, u);

  it('banned users are never members nor get frames, muted sends never commit, no moderator acts on an admin, every report has one state', { timeout: 300_000 }, async () => {
    // The tenant's first user is its admin: registered before anyone else of this server.
    const [tenantAdmin] = await users(server, 1);
    const stats: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 8, maxLength: 30 }), async (actions) => {
        const people = [...(await users(server, N)), tenantAdmin];
        const created = await call(people[0], 'POST', '/conversations', { kind: 'group', title: 'prop', member_ids: people.slice(1, 4).map((p) => p.user.id) });
        const g = created.body.id as number;
        const sockets = await Promise.all(people.slice(0, N).map(parleySocket));
        const ids: number[] = [];
        for (let i = 0; i < M; i++) ids.push((await call(people[i], 'POST', `/conversations/${g}/messages`, { content: `m${i}` })).body.id);

        // The model.
        const role = new Map<number, Role>([[0, 'admin'], [1, 'member'], [2, 'member'], [3, 'member']]);
        const banned = new Set<number>();
        const muted = new Set<number>();
        const deleted = new Set<number>();
        const reports: { id: number; reporter: number; m: number; state: State }[] = [];
        const reported = new Set<string>();
        const committed = new Set(ids.map((_, i) => `m${i}`));
        const refusedSends = new Set<string>();
        /** Per user: how many of their socket's frames came before their latest removal by a ban. */
        const bannedAt = new Map<number, number>();
        const admins = () => [...role.values()].filter((r) => r === 'admin').length;
        const moderates = (u: number) => role.get(u) === 'admin' || role.get(u) === 'moderator';
        /** How `u` may moderate the group: the tenant admin always, else its admins and moderators. */
        const authority = (u: number): 'ok' | 403 | 404 => (u === T || moderates(u) ? 'ok' : role.has(u) ? 403 : 404);
        /** A ban or mute of `t` by `u`, as the model answers it. */
        const sanctionAnswer = (u: number, t: number, kind: Sanction | 'lift'): 'ok' | 403 | 404 | 'refused' => {
          const auth = authority(u);
          if (auth !== 'ok') return auth;
          if (t === u) return 'refused';
          if (role.get(t) === 'admin' && u !== T && role.get(u) !== 'admin') return 403;
          if (kind === 'ban' && role.get(t) === 'admin' && admins() === 1 && role.size > 1) return 'refused';
          return 'ok';
        };
        const applyBan = async (t: number) => {
          banned.add(t);
          if (role.delete(t)) {
            const removal = await sockets[t].next('participant_changed', { where: (f) => f.conversation_id === g && f.change === 'removed' && f.user.id === people[t].user.id });
            bannedAt.set(t, sockets[t].frames.indexOf(removal) + 1);
          }
        };

        for (const [i, a] of actions.entries()) {
          const me = people[a.u];
          let want: 'ok' | 403 | 404 | 409 | 'refused';
          let r;
          switch (a.kind) {
            case 'ban':
            case 'mute':
            case 'unban':
            case 'unmute': {
              const path = `/conversations/${g}/${a.kind.replace(/^un/, '')}s/${people[a.target].user.id}`;
              const lift = a.kind.startsWith('un');
              r = await call(me, lift ? 'DELETE' : 'PUT', path, lift ? undefined : { reason: `step ${i}` });
              want = sanctionAnswer(a.u, a.target, lift ? 'lift' : (a.kind as Sanction));
              if (want === 'ok') {
                if (a.kind === 'ban') await applyBan(a.target);
                else if (a.kind === 'mute') muted.add(a.target);
                else (a.kind === 'unban' ? banned : muted).delete(a.target);
              }
              break;
            }
            case 'add': {
              r = await call(me, 'POST', `/conversations/${g}/participants`, { user_id: people[a.target].user.id });
              want = a.u === T || !role.has(a.u) ? 404 : !moderates(a.u) ? 403 : banned.has(a.target) ? 403 : 'ok';
              if (want === 'ok' && !role.has(a.target)) role.set(a.target, 'member');
              break;
            }
            case 'role': {
              r = await call(me, 'PATCH', `/conversations/${g}/participants/${people[a.target].user.id}`, { role: a.role });
              const t = role.get(a.target);
              want = a.u === T || !role.has(a.u) ? 404 : role.get(a.u) !== 'admin' ? 403 : !t ? 404 : t === 'admin' && a.role !== 'admin' && admins() === 1 ? 'refused' : 'ok';
              if (want === 'ok') role.set(a.target, a.role);
              break;
            }
            case 'send': {
              const content = `s${i}`;
              r = await call(me, 'POST', `/conversations/${g}/messages`, { content });
              want = !role.has(a.u) ? (banned.has(a.u) ? 403 : 404) : muted.has(a.u) ? 403 : 'ok';
              (want === 'ok' ? committed : refusedSends).add(content);
              break;
            }
            case 'delete': {
              r = await call(me, 'DELETE', `/messages/${ids[a.m]}?reason=${encodeURIComponent(`step ${i}`)}`);
              want = !role.has(a.u) ? 404 : a.m !== a.u && !moderates(a.u) ? 403 : 'ok';
              if (want === 'ok') deleted.add(a.m);
              break;
            }
            case 'report': {
              r = await call(me, 'POST', `/messages/${ids[a.m]}/reports`, { reason: `step ${i}` });
              want = !role.has(a.u) ? 404 : deleted.has(a.m) || a.m === a.u ? 'refused' : reported.has(`${a.u}/${a.m}`) ? 409 : 'ok';
              if (want === 'ok') {
                reported.add(`${a.u}/${a.m}`);
                reports.push({ id: r.body.id, reporter: a.u, m: a.m, state: 'open' });
              }
              break;
            }
            case 'resolve': {
              const report = reports[a.r];
              if (!report) continue;
              r = await call(me, 'POST', `/reports/${report.id}/resolve`, { action: a.action, reason: `step ${i}` });
              const auth = authority(a.u);
              const author = report.m;
              want = auth !== 'ok' ? (auth === 404 ? 404 : 403) : report.state !== 'open' ? 409 : a.action === 'mute' || a.action === 'ban' ? sanctionAnswer(a.u, author, a.action) : 'ok';
              if (want === 'ok') {
                report.state = ({ dismiss: 'dismissed', delete: 'deleted', mute: 'muted', ban: 'banned' } as const)[a.action];
                if (a.action === 'delete') deleted.add(author);
                if (a.action === 'mute') muted.add(author);
                if (a.action === 'ban') await applyBan(author);
              }
              break;
            }
          }
          stats[`${a.kind} ${want}`] = (stats[`${a.kind} ${want}`] ?? 0) + 1;
          const why = `step ${i}: ${JSON.stringify(a)} → ${r.status} ${JSON.stringify(r.body)}`;
          if (want === 'ok') expect(r.status, why).toBeLessThan(300);
          else if (want === 'refused') expect([400, 403, 409, 422], why).toContain(r.status);
          else expect(r.status, why).toBe(want);
        }

        // The members are the model's, and no banned user is one.
        const reader = people[[...role.keys()][0]];
        const listed = ((await call(reader, 'GET', `/conversations/${g}/participants`)).body as { user: { id: number }; role: Role }[]).map((p) => [p.user.id, p.role] as const);
        expect(new Map(listed)).toEqual(new Map([...role].map(([u, r]) => [people[u].user.id, r])));
        for (const u of banned) expect(role.has(u)).toBe(false);
        // Every member gets a last message (the tenant admin lifts the mutes first, so the reader may post);
        // a banned user's socket got nothing of the group after their ban.
        for (const u of muted) expect((await call(tenantAdmin, 'DELETE', `/conversations/${g}/mutes/${people[u].user.id}`)).status).toBe(204);
        const final = (await call(reader, 'POST', `/conversations/${g}/messages`, { content: 'final' })).body.id as number;
        for (const u of role.keys()) await sockets[u].next('message', { where: (f) => f.message.id === final });
        for (const u of banned) {
          const after = sockets[u].frames.slice(bannedAt.get(u) ?? 0).filter((f) => f.conversation_id === g || f.message?.conversation_id === g);
          expect(after, `frames of user ${u} after their ban`).toEqual([]);
        }
        // No send refused while muted committed.
        const history = ((await call(people[0], 'GET', `/conversations/${g}/messages?limit=100`)).body.messages ?? []) as { content: string | null; deleted_at: string | null; id: number }[];
        const contents = new Set(history.map((m) => m.content));
        for (const c of refusedSends) expect(contents.has(c), `refused send ${c}`).toBe(false);
        // Every report has exactly one state: its reporter's list and the queue agree with the model.
        const queue = (await call(tenantAdmin, 'GET', `/reports?conversation_id=${g}&limit=100`)).body.items as { id: number }[];
        expect(queue.map((q) => q.id).sort()).toEqual(reports.filter((x) => x.state === 'open').map((x) => x.id).sort());
        for (let u = 0; u < N; u++) {
          const mine = (await call(people[u], 'GET', '/reports/mine?limit=100')).body.items as { id: number; state: State }[];
          expect(mine.map((x) => [x.id, x.state]).sort()).toEqual(reports.filter((x) => x.reporter === u).map((x) => [x.id, x.state]).sort());
        }
        for (const s of sockets) s.ws.close();
      }),
      { numRuns: Number(process.env.MODERATION_RUNS ?? 10), seed: Number(process.env.MODERATION_SEED ?? 2020) },
    );
    console.log(`moderation property on ${db}: ${Object.entries(stats).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });
});
