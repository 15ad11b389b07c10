// Issue 18, as a property: unread counts (conversation and thread) never include deleted
// messages nor those the reader deleted for themselves, a conversation's count holds no
// thread reply (its thread's does), and they never drift. A run makes a group of three and a
// random sequence of sends, replies, deletes, deletes for me, reads, mark-unreads, thread
// reads and follows by all three through
// /api/parley; a sequential model keeps each user's place (conversation and per thread) and
// following. After every step, what the server keeps (its places, and the unread counts and
// first unread it derives) must equal a recount from the messages table at the model's places
// — the recount lives only here. At the end of a run the same figures are read through the
// REST room lists of Parley and 002 and the Threads list.
// UNREAD_RUNS (default 12) runs per database of UNREAD_STEPS (default 120) steps at most (70% of it at least),
// seeded by UNREAD_SEED (default 20261205; `random` for a fresh one): a longer form is
// `UNREAD_RUNS=200 UNREAD_STEPS=300 npx vitest run test/dialects/parley/unread-property.test.ts`.
import fc from 'fast-check';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, type TestUser } from '../../helpers/clients.js';
import { sqlStoreOf, useParley } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';

const RUNS = Number(process.env.UNREAD_RUNS ?? 12);
const STEPS = Number(process.env.UNREAD_STEPS ?? 120);
const SEED = process.env.UNREAD_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.UNREAD_SEED ?? 20261205);
const PEOPLE = 3;
const PART_RUNS = 3;

interface Step {
  action: 'send' | 'reply' | 'delete' | 'hide' | 'read' | 'read_all' | 'unread' | 'thread_read' | 'follow' | 'unfollow';
  user: number;
  /** Picks a message (or a thread) among those there are. */
  pick: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  action: fc.constantFrom<Step['action']>('send', 'send', 'send', 'reply', 'reply', 'reply', 'delete', 'delete', 'hide', 'read', 'read_all', 'unread', 'unread', 'thread_read', 'follow', 'unfollow'),
  user: fc.nat(PEOPLE - 1),
  pick: fc.nat(1000),
});

interface ModelMessage {
  id: number;
  seq: number;
  sender: number;
  root: number | null;
  deleted: boolean;
}

/** A row of the messages table, for the recount, with who deleted it for themselves (message_hides). */
interface Row {
  id: number;
  seq: number;
  root: number | null;
  deleted: boolean;
  hiddenBy: Set<number>;
}

interface ThreadPlace {
  readSeq: number;
  following: boolean;
}

/** What the users did, as a model: messages, each one's place, and their threads. */
class Model {
  readonly messages: ModelMessage[] = [];
  readonly seen: number[] = new Array(PEOPLE).fill(0);
  readonly threads: Map<number, ThreadPlace>[] = Array.from({ length: PEOPLE }, () => new Map());

  get lastSeq(): number {
    return this.messages.length;
  }
  roots(): ModelMessage[] {
    return this.messages.filter((m) => m.root === null);
  }
  bySeq(seq: number): ModelMessage {
    return this.messages[seq - 1];
  }
  /** The last reply of a thread that is not deleted (the store's last_reply_seq). */
  lastReply(rootId: number): number | null {
    const live = this.messages.filter((m) => m.root === rootId && !m.deleted);
    return live.length > 0 ? live[live.length - 1].seq : null;
  }
  threadRead(user: number, root: ModelMessage): number {
    return this.threads[user].get(root.id)?.readSeq ?? root.seq;
  }
  /** A new message: the sender's place moves to it, unless it is a thread reply, which follows its thread for its sender and the root's author. */
  sent(m: ModelMessage): void {
    this.messages.push(m);
    if (m.root === null) {
      this.seen[m.sender] = m.seq;
      return;
    }
    const root = this.messages.find((x) => x.id === m.root)!;
    if (!this.threads[root.sender].has(root.id)) this.threads[root.sender].set(root.id, { readSeq: root.seq, following: true });
    const mine = this.threads[m.sender].get(root.id);
    this.threads[m.sender].set(root.id, { readSeq: Math.max(mine?.readSeq ?? m.seq, m.seq), following: true });
  }
}

describe.each(databases)('unread counts equal a recount after any sequence (fast-check) on %s', (db) => {
  const server = useParley({ db });
  let people: TestUser[];
  beforeAll(async () => {
    people = await Promise.all(Array.from({ length: PEOPLE }, (_, i) => newUser(server, { name: `U${i}` })));
  });
  const stats: Record<string, number> = {};
  const kysely = () => (sqlStoreOf(server) as unknown as { db: Parameters<ReturnType<typeof sql>['execute']>[0] }).db;

  /** The conversation's rows as the messages table has them (one read per check). */
  async function rowsOf(conversationId: number): Promise<Row[]> {
    const r = await sql<{ id: number | string; seq: number | string; reply_to_id: number | string | null; deleted_at: number | string | null }>`select id, seq, reply_to_id, deleted_at from messages where conversation_id = ${conversationId} order by seq`.execute(kysely());
    const hides = await sql<{ message_id: number | string; user_id: number | string }>`select message_id, user_id from message_hides where conversation_id = ${conversationId}`.execute(kysely());
    const rows = r.rows.map((x) => ({ id: Number(x.id), seq: Number(x.seq), root: x.reply_to_id == null ? null : Number(x.reply_to_id), deleted: x.deleted_at != null, hiddenBy: new Set<number>() }));
    const byId = new Map(rows.map((x) => [x.id, x]));
    for (const h of hides.rows) byId.get(Number(h.message_id))!.hiddenBy.add(Number(h.user_id));
    return rows;
  }

  /**
   * The recount for `user`: messages above `after` that are not deleted nor deleted for them,
   * in the conversation (not a thread reply) or in the thread of `rootId`.
   */
  function recount(rows: readonly Row[], user: number, where: { rootId?: number }, after: number): { count: number; first: number | null } {
    const live = rows.filter((r) => r.seq > after && !r.deleted && !r.hiddenBy.has(people[user].user.id) && r.root === (where.rootId ?? null));
    return { count: live.length, first: live[0]?.seq ?? null };
  }

  async function check(conversationId: number, model: Model, where: string): Promise<void> {
    const store = server.parley.store;
    const rows = await rowsOf(conversationId);
    for (let u = 0; u < PEOPLE; u++) {
      const want = recount(rows, u, {}, model.seen[u]);
      const got = (await store.unreadStates(people[u].user.id, [conversationId])).get(conversationId);
      expect(got, `${where}: U${u} in the conversation`).toEqual({ seenSeq: model.seen[u], unreadCount: want.count, firstUnreadSeq: want.first });
      const roots = model.roots();
      const states = await store.threadStates(people[u].user.id, roots.map((r) => r.id));
      for (const root of roots) {
        const readSeq = model.threadRead(u, root);
        const s = states.get(root.id)!;
        const replies = recount(rows, u, { rootId: root.id }, readSeq);
        expect({ readSeq: s.readSeq, unread: s.unreadCount, following: s.following, last: s.lastReplySeq }, `${where}: U${u} in the thread of seq ${root.seq}`).toEqual({
          readSeq,
          unread: replies.count,
          following: model.threads[u].get(root.id)?.following ?? false,
          last: model.lastReply(root.id),
        });
      }
    }
  }

  /** The same figures as the clients read them: Parley's and 002's room lists, Parley's Threads list. */
  async function checkRest(conversationId: number, model: Model): Promise<void> {
    const rows = await rowsOf(conversationId);
    for (let u = 0; u < PEOPLE; u++) {
      const token = people[u].token;
      const want = recount(rows, u, {}, model.seen[u]);
      const one = await api(server, 'GET', `/api/parley/conversations/${conversationId}`, { token });
      expect(one.body).toMatchObject({ unread_count: want.count, first_unread_seq: want.first, my_seen_seq: model.seen[u] });
      const rooms = await api(server, 'GET', '/api/chat/unread-count', { token });
      expect(rooms.body.unread_counts[String(conversationId)]).toBe(want.count);
      const threads = await api(server, 'GET', '/api/parley/threads?limit=100', { token });
      expect(threads.status).toBe(200);
      const followed = model.roots().filter((r) => model.threads[u].get(r.id)?.following);
      const listed = new Map<number, number>(threads.body.filter((t: any) => t.conversation_id === conversationId).map((t: any) => [t.root.id, t.unread_count]));
      expect([...listed.keys()].sort()).toEqual(followed.map((r) => r.id).sort());
      for (const r of followed) expect(listed.get(r.id)).toBe(recount(rows, u, { rootId: r.id }, model.threadRead(u, r)).count);
    }
  }

  async function apply(conversationId: number, model: Model, step: Step): Promise<string> {
    const { user: u, pick } = step;
    const token = people[u].token;
    const roots = model.roots();
    switch (step.action) {
      case 'send':
      case 'reply': {
        const root = step.action === 'reply' && roots.length > 0 ? roots[pick % roots.length] : null;
        const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/messages`, { token, json: { content: `m${model.lastSeq + 1}`, reply_to_id: root?.id ?? null } });
        expect(r.status).toBe(201);
        model.sent({ id: r.body.id, seq: r.body.seq, sender: u, root: root?.id ?? null, deleted: false });
        return root ? `reply to seq ${root.seq}` : 'send';
      }
      case 'delete': {
        // Their own messages; U0 is the group's admin and may delete anyone's.
        const mine = model.messages.filter((m) => !m.deleted && (u === 0 || m.sender === u));
        if (mine.length === 0) return 'delete (nothing)';
        const m = mine[pick % mine.length];
        expect((await api(server, 'DELETE', `/api/parley/messages/${m.id}`, { token })).status).toBe(200);
        m.deleted = true;
        return `delete seq ${m.seq}`;
      }
      case 'hide': {
        // Any message they can see (deleted ones too: the hide stays when it is deleted for everyone).
        if (model.lastSeq === 0) return 'delete for me (nothing)';
        const m = model.bySeq(1 + (pick % model.lastSeq));
        expect((await api(server, 'DELETE', `/api/parley/messages/${m.id}/for-me`, { token })).status).toBe(204);
        return `delete seq ${m.seq} for me`;
      }
      case 'read':
      case 'read_all': {
        const seq = step.action === 'read' ? pick % (model.lastSeq + 2) : undefined;
        const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/read`, { token, json: seq === undefined ? {} : { seq } });
        expect(r.status).toBe(200);
        model.seen[u] = Math.max(model.seen[u], Math.min(seq ?? model.lastSeq, model.lastSeq));
        return `read up to ${seq ?? 'the end'}`;
      }
      case 'unread': {
        if (model.lastSeq === 0) return 'unread (nothing)';
        const m = model.bySeq(1 + (pick % model.lastSeq));
        const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/unread`, { token, json: { seq: m.seq } });
        if (m.deleted) {
          expect(r.status).toBe(404);
          return `unread from deleted seq ${m.seq} (refused)`;
        }
        expect(r.status).toBe(200);
        model.seen[u] = Math.min(model.seen[u], m.seq - 1);
        expect(r.body.seen_seq).toBe(model.seen[u]);
        return `unread from seq ${m.seq}`;
      }
      case 'thread_read': {
        if (roots.length === 0) return 'thread read (nothing)';
        const root = roots[pick % roots.length];
        const top = model.lastReply(root.id) ?? root.seq;
        const seq = pick % 3 === 0 ? undefined : root.seq + (pick % (model.lastSeq - root.seq + 2));
        const r = await api(server, 'POST', `/api/parley/messages/${root.id}/thread/read`, { token, json: seq === undefined ? {} : { seq } });
        expect(r.status).toBe(200);
        const target = Math.min(seq ?? top, top);
        const had = model.threadRead(u, root);
        if (target > had) model.threads[u].set(root.id, { readSeq: target, following: model.threads[u].get(root.id)?.following ?? false });
        return `thread of seq ${root.seq} read up to ${seq ?? 'its end'}`;
      }
      case 'follow':
      case 'unfollow': {
        if (roots.length === 0) return `${step.action} (nothing)`;
        const root = roots[pick % roots.length];
        const on = step.action === 'follow';
        const r = await api(server, on ? 'PUT' : 'DELETE', `/api/parley/messages/${root.id}/thread/follow`, { token });
        expect(r.status).toBe(200);
        const had = model.threads[u].get(root.id);
        model.threads[u].set(root.id, { readSeq: had?.readSeq ?? model.lastReply(root.id) ?? root.seq, following: on });
        return `${step.action} the thread of seq ${root.seq}`;
      }
    }
  }

  // The runs in parts of PART_RUNS, each its own test (and seed), so none runs long.
  const parts = Array.from({ length: Math.ceil(RUNS / PART_RUNS) }, (_, k) => ({ k, runs: Math.min(PART_RUNS, RUNS - k * PART_RUNS) }));
  for (const { k, runs } of parts) it(`part ${k}: ${runs} runs of up to ${STEPS} steps by ${PEOPLE} users (seed ${SEED + k})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: Math.ceil(STEPS * 0.7), maxLength: STEPS }), async (steps) => {
        const created = await api(server, 'POST', '/api/parley/conversations', {
          token: people[0].token,
          json: { kind: 'group', title: 'unread', member_ids: people.slice(1).map((p) => p.user.id) },
        });
        expect(created.status).toBe(201);
        const conversationId = created.body.id as number;
        const model = new Model();
        for (const [i, step] of steps.entries()) {
          const what = await apply(conversationId, model, step);
          stats[step.action] = (stats[step.action] ?? 0) + 1;
          await check(conversationId, model, `step ${i}: U${step.user} ${what}`);
        }
        await checkRest(conversationId, model);
      }),
      { numRuns: runs, seed: SEED + k, endOnFailure: process.env.UNREAD_SHRINK !== '1' },
    );
    if (k === parts.length - 1) console.log(`unread property on ${db}: ${Object.entries(stats).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });
});
