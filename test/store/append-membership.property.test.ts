// An append's batch is all or nothing, whoever leaves and rejoins around it: a batch whose
// senders are all current participants stores every message, gapless after the conversation's
// last seq, and moves each sender's watermark; a batch with one departed sender stores nothing
// and moves nothing. On PostgreSQL the append sends its writes and COMMIT in its locks' round
// trip, checked by the statement itself (one trip), or, after the locks, its COMMIT with its
// last write when the lock's round trip counted every sender current (Statement.commits): the
// rule is checked on both paths where it could break: a leave racing the append, and which
// appends carried the COMMIT.
// Tested as an invariant, on SQLite and PostgreSQL, after any sequence of joins, leaves,
// rejoins, appends and appends racing a leave.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import type { AppendOutcome, NewMessage } from '../../src/backends/store/store.js';
import type { Id, User } from '../../src/core/model.js';
import { databases } from '../helpers/pg.js';
import { openScratchStore } from '../helpers/store-scene.js';

const RUNS = Number(process.env.APPEND_MEMBERSHIP_RUNS ?? 40);
const SEED = Number(process.env.APPEND_MEMBERSHIP_SEED ?? 20261207);
const USERS = 3;
const CONVERSATIONS = 2;

const send = fc.record({ c: fc.nat(CONVERSATIONS - 1), u: fc.nat(USERS - 1) });
const action = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('append' as const), sends: fc.array(send, { minLength: 1, maxLength: 5 }) }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('leave' as const), c: fc.nat(CONVERSATIONS - 1), u: fc.nat(USERS - 1) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('join' as const), c: fc.nat(CONVERSATIONS - 1), u: fc.nat(USERS - 1) }), weight: 2 },
  // A leave sent while the append runs, on another connection: one of the batch's senders.
  { arbitrary: fc.record({ t: fc.constant('race' as const), sends: fc.array(send, { minLength: 1, maxLength: 5 }), leaver: fc.nat(4) }), weight: 2 },
);

/**
 * Per append, on PostgreSQL: whether its COMMIT went with a statement after the locks'
 * round trip (Statement.commits), alone, or in the locks' round trip itself (SqlAppend's one trip).
 */
function watchCommits(): { carried: () => number; alone: () => number; withLocks: () => number; stop: () => void } {
  let carried = 0;
  let alone = 0;
  let withLocks = 0;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    if (typeof q === 'string') {
      if (q === 'COMMIT') alone++;
      else if (/; COMMIT$/.test(q)) carried++;
    } else if ((q as object)?.constructor?.name === 'CommittingQuery') carried++;
    else if ((q as { steps?: { text: string }[] })?.steps?.at(-1)?.text === 'COMMIT') withLocks++;
    return query.apply(this, args);
  };
  return { carried: () => carried, alone: () => alone, withLocks: () => withLocks, stop: () => void (proto.query = query) };
}

/** SQLite; PostgreSQL with the append in its locks' round trip where it can (one trip), and with its writes after them. */
const modes: [string, 'sqlite' | 'postgres', boolean][] = databases.flatMap((d): [string, 'sqlite' | 'postgres', boolean][] =>
  d === 'postgres' ? [['postgres, one trip', d, true], ['postgres, writes after the locks', d, false]] : [[d, d, false]],
);

describe.each(modes)('an append and the senders\' membership, on %s', (_name, dialect, oneTrip) => {
  let store: SqlStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, close } = await openScratchStore(dialect, 'append-membership'));
    store.append.oneTrip = oneTrip;
  });
  afterAll(() => close());

  it('property: a batch stores all its messages, gapless, when every sender is current, and nothing when one has left', async () => {
    const NOW = 1_000_000;
    let clock = NOW;
    let rejected = 0;
    let raced = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const tenant = await store.ensureTenant(randomUUID(), 't');
        const users: User[] = [];
        for (let i = 0; i < USERS; i++) users.push(await store.createUser({ tenantId: tenant.id, email: `u${i}-${randomUUID()}@example.test`, name: `u${i}` }));
        // The model: who is current where, each conversation's last seq, each sender's newest own seq.
        const current: Set<number>[] = [];
        const lastSeq: number[] = [];
        const sentSeq = new Map<string, number>();
        const conversations: Id[] = [];
        for (let c = 0; c < CONVERSATIONS; c++) {
          const conv = await store.createConversation(
            { tenantId: tenant.id, kind: 'group', title: `g${c}`, createdBy: users[0].id, participants: users.map((u) => ({ userId: u.id, role: 'member' as const })) },
            NOW,
          );
          conversations.push(conv.id);
          current.push(new Set(users.map((_, i) => i)));
          lastSeq.push(0);
        }
        const message = (s: { c: number; u: number }): NewMessage => ({
          conversationId: conversations[s.c],
          senderId: users[s.u].id,
          kind: 'text',
          content: `m ${randomUUID()}`,
          replyToId: null,
          clientId: randomUUID(),
          attachments: [],
          createdAt: ++clock,
        });
        /** A batch that was stored: each message created, numbered after its conversation's last seq. */
        const stored = (sends: readonly { c: number; u: number }[], outcomes: AppendOutcome[]) =>
          sends.forEach((s, i) => {
            const o = outcomes[i];
            expect('message' in o && o.created).toBe(true);
            if (!('message' in o)) return;
            lastSeq[s.c]++;
            expect(o.message.seq).toBe(lastSeq[s.c]);
            sentSeq.set(`${s.c}:${s.u}`, lastSeq[s.c]);
          });
        const refused = (out: Error) => {
          expect((out as Error & { code?: string }).code).toBe('conversation_not_found');
          rejected++;
        };
        /** The model's answer to a batch appended now: stored if every sender is current, else refused. */
        const expectAppend = (sends: readonly { c: number; u: number }[], out: AppendOutcome[] | Error) => {
          const allCurrent = sends.every((s) => current[s.c].has(s.u));
          expect(out instanceof Error).toBe(!allCurrent);
          if (out instanceof Error) refused(out);
          else stored(sends, out);
        };
        const append = (sends: readonly { c: number; u: number }[]) => store.appendMessages(sends.map(message)).catch((e: Error) => e);

        for (const act of actions) {
          switch (act.t) {
            case 'append': {
              const watch = dialect === 'postgres' ? watchCommits() : undefined;
              let out: AppendOutcome[] | Error;
              try {
                out = await append(act.sends);
              } finally {
                watch?.stop();
              }
              const allCurrent = act.sends.every((s) => current[s.c].has(s.u));
              expectAppend(act.sends, out);
              // One trip: the COMMIT is always sent with the locks and the writes, and the statement's
              // own check skips it when a sender has left (nothing stored: the model's check above).
              // Else it rides on the last write only when the lock counted every sender current;
              // otherwise the batch rolls back, and nothing commits.
              if (watch && oneTrip) expect([watch.withLocks(), watch.carried(), watch.alone()]).toEqual([1, 0, 0]);
              else if (watch) expect([watch.withLocks(), watch.carried(), watch.alone()]).toEqual(allCurrent ? [0, 1, 0] : [0, 0, 0]);
              break;
            }
            case 'leave':
              if (await store.removeParticipant(conversations[act.c], users[act.u].id, ++clock)) current[act.c].delete(act.u);
              break;
            case 'join':
              await store.addParticipants(conversations[act.c], [{ userId: users[act.u].id, role: 'member' }], ++clock);
              current[act.c].add(act.u);
              break;
            case 'race': {
              const leaver = act.sends[act.leaver % act.sends.length];
              const [out, left] = await Promise.all([append(act.sends), store.removeParticipant(conversations[leaver.c], users[leaver.u].id, ++clock)]);
              // Either order is a serial one: the append before the leave (the model as it was) or after it.
              const before = act.sends.every((s) => current[s.c].has(s.u));
              if (left) current[leaver.c].delete(leaver.u);
              const after = act.sends.every((s) => current[s.c].has(s.u));
              if (before !== after) raced++;
              // The outcome decides the order; the rule is that it is one of the two, whole.
              if (out instanceof Error) {
                expect(after).toBe(false);
                refused(out);
              } else {
                expect(before).toBe(true);
                stored(act.sends, out);
              }
              break;
            }
          }
        }

        // What is stored is what the model stored: every conversation gapless to its last seq,
        // its counter there, and every sender's watermark at its newest own message.
        for (let c = 0; c < CONVERSATIONS; c++) {
          const seqs = (await store.runner.all<{ seq: number }>(raw('SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq', [conversations[c]]))).map((r) => Number(r.seq));
          expect(seqs).toEqual(Array.from({ length: lastSeq[c] }, (_, i) => i + 1));
          const [{ last_seq }] = await store.runner.all<{ last_seq: number }>(raw('SELECT last_seq FROM conversations WHERE id = ?', [conversations[c]]));
          expect(Number(last_seq)).toBe(lastSeq[c]);
          for (let u = 0; u < USERS; u++) {
            const [{ sent_seq }] = await store.runner.all<{ sent_seq: number }>(raw('SELECT sent_seq FROM participants WHERE conversation_id = ? AND user_id = ?', [conversations[c], users[u].id]));
            expect(Number(sent_seq), `sent_seq of u${u} in c${c}`).toBe(sentSeq.get(`${c}:${u}`) ?? 0);
          }
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The runs reached both outcomes, and leaves that decided a racing append's.
    expect(rejected).toBeGreaterThan(0);
    expect(raced).toBeGreaterThan(0);
  });
});
