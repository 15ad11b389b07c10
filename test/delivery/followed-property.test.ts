import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useParley, type TestServer } from '../helpers/parley.js';
import { api, newUser, openSocket, type TestUser } from '../helpers/clients.js';

// What a socket follows when it subscribes (Conversations.followed, a light read of the
// memberships) and what the user's room list shows (Conversations.list, with previews and
// members) are two reads of one rule: the conversations the user is a member of now. The
// rule across any sequence of membership changes: for every user, the subscribe answers
// exactly the listed conversations, and both are the model's; a message sent to any of the
// groups reaches exactly the sockets of its members.

type Act =
  | { kind: 'create'; by: number; with: number[] }
  | { kind: 'add'; by: number; who: number; group: number }
  | { kind: 'remove'; by: number; who: number; group: number }
  | { kind: 'delete'; by: number; group: number };

const USERS = 3;
const act: fc.Arbitrary<Act> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), by: fc.nat(USERS - 1), with: fc.uniqueArray(fc.nat(USERS - 1), { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('add' as const), by: fc.nat(USERS - 1), who: fc.nat(USERS - 1), group: fc.nat(3) }),
  fc.record({ kind: fc.constant('remove' as const), by: fc.nat(USERS - 1), who: fc.nat(USERS - 1), group: fc.nat(3) }),
  fc.record({ kind: fc.constant('delete' as const), by: fc.nat(USERS - 1), group: fc.nat(3) }),
);

async function listed(server: TestServer, u: TestUser): Promise<number[]> {
  const ids: number[] = [];
  let before: string | undefined;
  for (;;) {
    const r = await api(server, 'GET', `/api/parley/conversations?limit=100${before ? `&before=${encodeURIComponent(before)}` : ''}`, { token: u.token });
    expect(r.status).toBe(200);
    ids.push(...(r.body as { id: number }[]).map((c) => c.id));
    before = r.headers.get('parley-next-cursor') ?? undefined;
    if (!before) return ids.sort((a, b) => a - b);
  }
}

describe('what a socket follows is what the user lists', () => {
  const server = useParley();

  it('property: after any membership changes, subscribe answers exactly the listed conversations, the members of each', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(act, { minLength: 1, maxLength: 8 }), async (acts) => {
        const users: TestUser[] = [];
        for (let i = 0; i < USERS; i++) users.push(await newUser(server));
        // The model: each group's members (the first its admin), in creation order.
        const groups: { id: number; members: Set<number> }[] = [];
        for (const a of acts) {
          const by = users[a.by];
          if (a.kind === 'create') {
            const others = a.with.filter((w) => w !== a.by);
            const r = await api(server, 'POST', '/api/parley/conversations', { token: by.token, json: { kind: 'group', title: 'g', member_ids: others.map((w) => users[w].user.id) } });
            expect(r.status, JSON.stringify(r.body)).toBe(201);
            groups.push({ id: r.body.id, members: new Set([a.by, ...others]) });
            continue;
          }
          const g = groups[a.group % Math.max(1, groups.length)];
          if (!g) continue;
          // Whether it took effect is read from the answer; the model follows the server's
          // own verdict (who may do it is other tests' rule), and a refusal changes nothing.
          let r;
          if (a.kind === 'add') {
            r = await api(server, 'POST', `/api/parley/conversations/${g.id}/participants`, { token: by.token, json: { user_id: users[a.who].user.id, role: 'member' } });
            if (r.status === 201) g.members.add(a.who);
          } else if (a.kind === 'remove') {
            r = await api(server, 'DELETE', `/api/parley/conversations/${g.id}/participants/${users[a.who].user.id}`, { token: by.token });
            if (r.status === 204) g.members.delete(a.who);
          } else {
            r = await api(server, 'DELETE', `/api/parley/conversations/${g.id}`, { token: by.token });
            if (r.status === 204) g.members.clear();
          }
          // Done (200: a member already), or refused with a reason.
          if (r.status >= 300) {
            expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
            expect(typeof r.body?.detail).toBe('string');
          }
        }
        const sockets = [];
        for (const [i, u] of users.entries()) {
          const expected = groups.filter((g) => g.members.has(i)).map((g) => g.id).sort((a, b) => a - b);
          expect(await listed(server, u)).toEqual(expected);
          const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(u.token)}`);
          await s.next('ready');
          s.send({ type: 'subscribe' });
          const answer = await s.next('subscribed', { timeoutMs: 10_000 });
          expect(answer.conversations.map((c: { id: number }) => c.id).sort((a: number, b: number) => a - b)).toEqual(expected);
          sockets.push(s);
        }
        // Live delivery follows the same set: one message into each group still standing
        // reaches exactly its members' sockets.
        for (const g of groups) {
          const sender = [...g.members][0];
          if (sender === undefined) continue;
          const r = await api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: users[sender].token, json: { content: `to ${g.id}` } });
          expect(r.status, JSON.stringify(r.body)).toBe(201);
        }
        const last = groups.filter((g) => g.members.size > 0).at(-1);
        for (const [i, s] of sockets.entries()) {
          // Every member's socket has seen the last group's message once it reaches it; the
          // other groups' messages were sent before it, and arrive in order per socket.
          const mine = groups.filter((g) => g.members.has(i));
          if (mine.length > 0) await s.next('message', { where: (f) => f.message.content === `to ${mine.at(-1)!.id}`, timeoutMs: 10_000 });
          else if (last) await new Promise((r) => setTimeout(r, 50));
          const got = s.all('message').map((f) => f.conversation_id as number).sort((a, b) => a - b);
          expect(got).toEqual(mine.map((g) => g.id).sort((a, b) => a - b));
          s.close();
        }
      }),
      { numRuns: 15, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
    );
  });
});
