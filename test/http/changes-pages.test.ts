import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { databases } from '../helpers/pg.js';
import { ParleyRest } from '@parley/sdk';

// GET /api/parley/conversations/{id}/changes answers in pages: at most `limit` messages and
// at most MESSAGES_PAGE_MAX_BYTES of frames (at least one message), with `has_more` and the
// `next` cursor. A reader that follows the cursor to the end ends with the history exactly
// as it is, every change once; with writes going on meanwhile, nothing is lost.

const MAX_BYTES = 40_000;

interface Msg {
  id: number;
  seq: number;
  change_seq: number;
  content: string | null;
  deleted_at: string | null;
  edited_at: string | null;
  reactions: unknown[];
}
interface Frame {
  type: string;
  message: Msg;
}
interface Page {
  frames: Frame[];
  has_more: boolean;
  next: { after_seq: number; after_change_seq?: number };
}

/** What a message is, for comparing a reader's copy with the history. */
const shape = (m: Msg) => ({ id: m.id, seq: m.seq, change_seq: m.change_seq, content: m.content, deleted_at: m.deleted_at, edited_at: m.edited_at, reactions: m.reactions });

type Op =
  | { op: 'send'; by: 0 | 1; size: 'short' | 'long' | 'wide' }
  | { op: 'edit'; pick: number; size: 'short' | 'long' | 'wide' }
  | { op: 'delete'; pick: number }
  | { op: 'react'; pick: number; on: boolean };

const text = (size: 'short' | 'long' | 'wide', n: number) =>
  size === 'short' ? `m${n}` : size === 'long' ? `${n} `.padEnd(5000, 'x') : `${n} `.padEnd(4000, 'é') + '😀'.repeat(500);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('send' as const), by: fc.constantFrom(0 as const, 1 as const), size: fc.constantFrom('short' as const, 'long' as const, 'wide' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('edit' as const), pick: fc.nat(), size: fc.constantFrom('short' as const, 'long' as const, 'wide' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('react' as const), pick: fc.nat(), on: fc.boolean() }) },
);

describe.each(databases)('…/changes in pages on %s', (db) => {
  const server = useParley({ db, env: { MESSAGES_PAGE_MAX_BYTES: String(MAX_BYTES) } });
  let users: [TestUser, TestUser];
  let n = 0;
  beforeAll(async () => {
    users = [await newUser(server), await newUser(server)];
  });

  /** Applies one operation; a message of the other user, or a deleted one, refuses an edit or delete: skipped. */
  async function apply(conv: number, sent: { id: number; by: 0 | 1 }[], op: Op): Promise<void> {
    if (op.op === 'send') {
      const r = await api(server, 'POST', `/api/parley/conversations/${conv}/messages`, { token: users[op.by].token, json: { content: text(op.size, ++n) } });
      expect(r.status).toBe(201);
      sent.push({ id: r.body.id, by: op.by });
      return;
    }
    if (sent.length === 0) return;
    const m = sent[op.pick % sent.length];
    const token = users[m.by].token;
    if (op.op === 'edit') await api(server, 'PATCH', `/api/parley/messages/${m.id}`, { token, json: { content: text(op.size, ++n) } });
    else if (op.op === 'delete') await api(server, 'DELETE', `/api/parley/messages/${m.id}`, { token });
    else await api(server, op.on ? 'PUT' : 'DELETE', `/api/parley/messages/${m.id}/reactions/${encodeURIComponent('👍')}`, { token: users[1 - m.by].token });
  }

  /** The whole history as it is now, by id, and the conversation's cursor. */
  async function history(conv: number): Promise<{ byId: Map<number, Msg>; lastSeq: number; changeSeq: number }> {
    const r = await api(server, 'GET', `/api/parley/conversations/${conv}/messages?limit=100`, { token: users[0].token });
    expect(r.body.has_more).toBe(false);
    return { byId: new Map(r.body.messages.map((m: Msg) => [m.id, m])), lastSeq: r.body.last_seq, changeSeq: r.body.change_seq };
  }

  /**
   * Follows the cursor from `from` to the end, applying each page to `copy`; `between` runs
   * after each page (writes going on meanwhile). Returns the frames' states in order.
   */
  async function follow(conv: number, from: Page['next'], limit: number, copy: Map<number, Msg>, between?: () => Promise<void>) {
    let cursor = from;
    const states: { type: string; key: string; deleted: boolean }[] = [];
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(500);
      const q = `after_seq=${cursor.after_seq}&after_change_seq=${cursor.after_change_seq}&limit=${limit}`;
      const r = await api<Page>(server, 'GET', `/api/parley/conversations/${conv}/changes?${q}`, { token: users[1].token });
      expect(r.status).toBe(200);
      const ids = new Set(r.body.frames.map((f) => f.message.id));
      // Bounded: by count, and by bytes unless the page is one message.
      expect(ids.size).toBeLessThanOrEqual(limit);
      const bytes = r.body.frames.reduce((sum, f) => sum + Buffer.byteLength(JSON.stringify(f)) + 1, 0);
      if (ids.size > 1) expect(bytes).toBeLessThanOrEqual(MAX_BYTES);
      if (r.body.has_more) expect(ids.size).toBeGreaterThan(0);
      for (const f of r.body.frames) {
        states.push({ type: f.type, key: `${f.message.id}@${f.message.change_seq}`, deleted: f.message.deleted_at !== null });
        copy.set(f.message.id, f.message);
      }
      cursor = r.body.next;
      if (!r.body.has_more) return { cursor, states };
      await between?.();
    }
  }

  const newGroup = async () =>
    (await api(server, 'POST', '/api/parley/conversations', { token: users[0].token, json: { kind: 'group', title: 'pages', member_ids: [users[1].user.id] } })).body.id as number;

  /** A new group after `before`, the reader's copy and cursor there, then `after` happens while the reader is away. */
  async function readerAway(before: Op[], after: Op[]) {
    const conv = await newGroup();
    const sent: { id: number; by: 0 | 1 }[] = [];
    for (const op of before) await apply(conv, sent, op);
    const seen = await history(conv);
    const copy = new Map(seen.byId);
    for (const op of after) await apply(conv, sent, op);
    return { conv, sent, copy, cursor: { after_seq: seen.lastSeq, after_change_seq: seen.changeSeq } };
  }
  const bySeq = (messages: Map<number, Msg>) => [...messages.values()].map(shape).sort((x, y) => x.seq - y.seq);

  it('a backlog of big messages comes in pages under the byte bound, from after_seq=0', async () => {
    const conv = await newGroup();
    const sent: { id: number; by: 0 | 1 }[] = [];
    for (let i = 0; i < 40; i++) await apply(conv, sent, { op: 'send', by: (i % 2) as 0 | 1, size: i % 3 === 0 ? 'wide' : 'long' });
    const sizes: number[] = [];
    let cursor: Page['next'] = { after_seq: 0, after_change_seq: 0 };
    const seqs: number[] = [];
    for (;;) {
      const q = `after_seq=${cursor.after_seq}&after_change_seq=${cursor.after_change_seq}`;
      const res = await fetch(`${server.url}/api/parley/conversations/${conv}/changes?${q}`, { headers: { authorization: `Bearer ${users[1].token}` } });
      const raw = await res.text();
      sizes.push(Buffer.byteLength(raw));
      const page = JSON.parse(raw) as Page;
      seqs.push(...page.frames.map((f) => f.message.seq));
      cursor = page.next;
      if (!page.has_more) break;
    }
    console.log(`40 messages of 5000 characters: ${sizes.length} pages of ${sizes.join(', ')} bytes (MESSAGES_PAGE_MAX_BYTES=${MAX_BYTES})`);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(sizes.length).toBeGreaterThan(5);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_BYTES + 200);
    // The cursor carries the history's epoch too (issue 15.9).
    expect(cursor).toEqual({ after_seq: 40, after_change_seq: 40, epoch: expect.any(String) });
    // The SDK follows the pages for its caller.
    const rest = new ParleyRest({ baseUrl: server.url, token: users[1].token });
    const frames = await rest.changes(conv, { afterSeq: 0, afterChangeSeq: 0 });
    expect(frames.map((f) => f.message.seq)).toEqual(seqs);
    const first = await rest.changesPage(conv, { afterSeq: 0, afterChangeSeq: 0 }, { limit: 3 });
    expect(first).toMatchObject({ hasMore: true, next: { afterSeq: 3, afterChangeSeq: 40 } });
  });

  it('property: following the cursor to the end gives the history as it is, every change once, pages within bounds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.array(opArb, { maxLength: 30 }), fc.integer({ min: 1, max: 40 }), async (before, after, limit) => {
        const away = await readerAway(before, after);
        const { conv, copy } = away;
        const { cursor, states } = await follow(conv, away.cursor, limit, copy);
        // Every state of a message once; a new message deleted since comes as new, then as deleted (one state, two frames).
        const byKey = new Map<string, string[]>();
        for (const st of states) {
          const before = byKey.get(st.key) ?? [];
          const pair = before.length === 1 && before[0] === 'message' && st.type === 'message_changed' && st.deleted;
          expect(before.length === 0 || pair, `${st.key} given twice`).toBe(true);
          byKey.set(st.key, [...before, st.type]);
        }
        const now = await history(conv);
        expect(bySeq(copy)).toEqual(bySeq(now.byId));
        // The last page's cursor is where the reader now stands.
        expect(cursor).toEqual({ after_seq: now.lastSeq, after_change_seq: now.changeSeq, epoch: expect.any(String) });
      }),
      { numRuns: db === 'postgres' ? 8 : 15 },
    );
  }, 240_000);

  it('property: with writes going on between pages, the reader still ends with the history as it is', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 20 }), fc.array(opArb, { maxLength: 20 }), fc.array(opArb, { maxLength: 12 }), fc.integer({ min: 1, max: 6 }), async (before, after, during, limit) => {
        const away = await readerAway(before, after);
        const { conv, sent, copy } = away;
        const pending = [...during];
        let { cursor } = await follow(conv, away.cursor, limit, copy, async () => {
          const op = pending.shift();
          if (op) await apply(conv, sent, op);
        });
        // What was written after the last page: the next catch-up brings it.
        for (const op of pending) await apply(conv, sent, op);
        ({ cursor } = await follow(conv, cursor, limit, copy));
        const now = await history(conv);
        expect(bySeq(copy)).toEqual(bySeq(now.byId));
      }),
      { numRuns: db === 'postgres' ? 8 : 15 },
    );
  }, 240_000);
});
