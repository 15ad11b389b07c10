// Document 004's friend rule for typing as a property (friend-rule.test.ts has the examples):
// after any sequence of friend requests, unfriends, blocks and unblocks between three users,
// a typing frame from A reaches B exactly when they are friends and neither blocks the other,
// as a small model of friendships and blocks says; otherwise A gets an error frame. Every
// request/unfriend/block/unblock also succeeds or is refused as the model says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, expectNoFrame, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { databases, friendSocket, nextError, users } from './support.js';

const USERS = 3;
type Op = 'request' | 'unfriend' | 'block' | 'unblock';
interface Action {
  op: Op;
  by: number;
  other: number;
}

/** Friendships and blocks as the accounts contract describes them. */
class Model {
  /** Pair key → who asked (pending) or 'accepted'. */
  readonly friendship = new Map<string, number | 'accepted'>();
  /** `${blocker}>${blocked}` */
  readonly blocks = new Set<string>();

  static pair = (x: number, y: number) => (x < y ? `${x}-${y}` : `${y}-${x}`);
  blocked = (x: number, y: number) => this.blocks.has(`${x}>${y}`) || this.blocks.has(`${y}>${x}`);

  /** Applies the action; false when the server must refuse it. */
  apply({ op, by, other }: Action): boolean {
    const key = Model.pair(by, other);
    const row = this.friendship.get(key);
    switch (op) {
      case 'request':
        if (this.blocked(by, other)) return false;
        // Accepted at once when the other side had asked; asking twice changes nothing.
        if (row === other || row === 'accepted') this.friendship.set(key, 'accepted');
        else this.friendship.set(key, by);
        return true;
      case 'unfriend':
        return this.friendship.delete(key);
      case 'block':
        // A block ends the friendship (or the request); blocking again changes nothing.
        this.friendship.delete(key);
        this.blocks.add(`${by}>${other}`);
        return true;
      case 'unblock':
        // Only the blocker lifts a block, and a friendship it ended is not restored.
        return this.blocks.delete(`${by}>${other}`);
    }
  }

  typingReaches = (from: number, to: number) => this.friendship.get(Model.pair(from, to)) === 'accepted' && !this.blocked(from, to);
}

const action = fc
  .record({ op: fc.constantFrom<Op>('request', 'request', 'unfriend', 'block', 'unblock'), by: fc.nat(USERS - 1), step: fc.integer({ min: 1, max: USERS - 1 }) })
  .map(({ op, by, step }): Action => ({ op, by, other: (by + step) % USERS }));

describe.each(databases)('004 friend rule for typing, any history of friendships and blocks, on %s', (db) => {
  const server = useParley({ db });

  async function perform(u: TestUser[], { op, by, other }: Action) {
    const [me, them] = [u[by], u[other]];
    if (op === 'request') return api(server, 'POST', '/api/friends', { token: me.token, json: { user_id: them.user.uuid } });
    if (op === 'unfriend') return api(server, 'DELETE', `/api/friends/${them.user.uuid}`, { token: me.token });
    return api(server, op === 'block' ? 'POST' : 'DELETE', `/api/friends/${them.user.id}/block`, { token: me.token });
  }

  it('a typing frame reaches the other exactly when they are friends and neither blocks the other', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
        const u = await users(server, USERS);
        const model = new Model();
        for (const a of actions) {
          const res = await perform(u, a);
          const where = `${a.op} by ${a.by} of ${a.other}: ${res.status} ${JSON.stringify(res.body)}`;
          if (model.apply(a)) expect(res.status, where).toBe(200);
          else expect(res.status, where).toBeGreaterThanOrEqual(400);
          expect(res.status, where).toBeLessThan(500);
        }
        const sockets: TestSocket[] = [];
        try {
          for (const user of u) sockets.push(await friendSocket(server, user));
          for (let from = 0; from < USERS; from++) {
            for (let to = 0; to < USERS; to++) {
              if (from === to) continue;
              sockets[from].send({ type: 'typing', receiver_id: u[to].user.uuid, is_typing: true });
              const where = `typing ${from}→${to} after ${JSON.stringify(actions)}`;
              if (model.typingReaches(from, to)) {
                const got = await sockets[to].next('typing_indicator', { where: (f) => f.user_id === u[from].user.uuid });
                expect(got.is_typing, where).toBe(true);
              } else {
                await nextError(sockets[from]);
              }
            }
          }
          // Nothing else: no typing frame of a refused pair, and no error of an allowed one.
          await Promise.all(sockets.map((s) => expectNoFrame(s, 100, { where: (f) => f.type === 'typing_indicator' || f.type === 'error' })));
        } finally {
          for (const s of sockets) s.close();
        }
      }),
      { numRuns: db === 'sqlite' ? 10 : 5, seed: 16_4 },
    );
  });
});
