import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { createSqliteStore } from '../../src/backends/store/sqlite-store.js';
import type { AppendOptions, AppendResult, NewMessage, Store } from '../../src/backends/store/store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { MessageWriter } from '../../src/core/messages/writer.js';
import { databases, newPostgresDatabase } from '../helpers/pg.js';
import { storeScene, type StoreScene } from '../helpers/store-scene.js';

// Group commit on the real stores: sends from one sender keep their order across batches
// committed at once, every result is announced before its promise settles, a bad send
// fails alone, and drained() waits for everything.

async function openStore(kind: 'sqlite' | 'postgres'): Promise<{ store: SqlStore; close: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-writer-'));
    const store = createSqliteStore(`sqlite:${path.join(dir, 'parley.db')}`);
    await store.migrate();
    return { store, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  const db = await newPostgresDatabase();
  const store = createPostgresStore(db.url, { poolSize: 4 });
  return { store, close: async () => (await store.close(), await db.drop()) };
}

/** Sends to any of `n` conversations, from either user, some of them in a turn of their own. */
const anySends = (n: number, maxLength: number) => fc.array(fc.record({ to: fc.nat(n - 1), from: fc.boolean(), turn: fc.boolean() }), { minLength: 1, maxLength });

/**
 * `sends` through a new writer over `via` (the store, or a wrapper of it): each conversation's
 * seqs follow its sends, gapless from where it stood (a failed run leaves what it committed),
 * and are announced in that order.
 */
async function seqsFollowSends(store: Store, via: Store, maxBatch: number, scene: StoreScene, sends: { to: number; from: boolean; turn: boolean }[]): Promise<void> {
  const { a, b, conversations, msg } = scene;
  const lastSeq = new Map<number, number>();
  for (const c of conversations) lastSeq.set(c.id, (await store.conversationById(c.id))!.lastSeq);
  const announced = new Map<number, number[]>();
  const writer = new MessageWriter(via, maxBatch, (r) => announced.set(r.message.conversationId, [...(announced.get(r.message.conversationId) ?? []), r.message.seq]), undefined, store.appendPipeline);
  const made: { conversationId: number; p: Promise<AppendResult> }[] = [];
  for (const s of sends) {
    const conversationId = conversations[s.to].id;
    made.push({ conversationId, p: writer.append(msg(conversationId, s.from ? a.id : b.id)) });
    if (s.turn) await new Promise((r) => setImmediate(r));
  }
  const results = await Promise.all(made.map((m) => m.p));
  await writer.drained();
  for (const c of conversations) {
    const seqs = results.filter((_, i) => made[i].conversationId === c.id).map((r) => r.message.seq);
    const from = lastSeq.get(c.id)!;
    expect(seqs).toEqual(seqs.map((_, i) => from + i + 1));
    expect(announced.get(c.id) ?? []).toEqual(seqs);
  }
}

describe.each(databases)('MessageWriter on %s', (kind) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  async function setup() {
    const { store, close } = await openStore(kind);
    cleanup.push(close);
    const { a, b, conversations: [conv], msg: make } = await storeScene(store, ['direct']);
    const msg = (senderId: number, over: Partial<NewMessage> = {}) => make(conv.id, senderId, over);
    return { store, a, b, conv, msg };
  }

  it('sends keep their order through batches committed at once; each is announced, in seq order, before it settles', async () => {
    const { store, a, b, msg } = await setup();
    // Counts the store's appendMessages calls running at once (the real store does the work).
    let running = 0;
    let most = 0;
    const counted: Store = Object.create(store, {
      appendMessages: {
        value: async (batch: readonly NewMessage[], opts?: AppendOptions) => {
          most = Math.max(most, ++running);
          try {
            return await store.appendMessages(batch, opts);
          } finally {
            running--;
          }
        },
      },
    });
    const announced: AppendResult[] = [];
    const settledBeforeAnnounced: string[] = [];
    const writer = new MessageWriter(counted, 16, (r) => announced.push(r), undefined, store.appendPipeline);
    const inputs: NewMessage[] = [];
    const sends: Promise<AppendResult>[] = [];
    // Two senders, 300 sends each, interleaved, in bursts across event-loop turns.
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 15; i++) {
        for (const u of [a, b]) {
          const input = msg(u.id);
          inputs.push(input);
          sends.push(
            writer.append(input).then((r) => {
              if (!announced.includes(r)) settledBeforeAnnounced.push(String(input.content));
              return r;
            }),
          );
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(sends);
    await writer.drained();

    expect(settledBeforeAnnounced).toEqual([]);
    // One conversation: where batches running at once may not share one, they take turns.
    expect(most).toBe(store.appendsInCallOrder ? store.appendPipeline : 1);
    // Seqs: gapless, and in the order the sends were made (per sender and overall).
    expect(results.map((r) => r.message.seq)).toEqual(inputs.map((_, i) => i + 1));
    expect(results.map((r) => r.message.content)).toEqual(inputs.map((m) => m.content));
    // Announced in seq order.
    expect(announced.map((r) => r.message.seq)).toEqual(inputs.map((_, i) => i + 1));
  });

  it('property: over any sends to several conversations, each one\'s seqs follow its sends, gapless, announced in order; batches running at once share no conversation unless the store orders them', async () => {
    const { store, close } = await openStore(kind);
    cleanup.push(close);
    const { a, b, conversations, msg } = await storeScene(store, ['direct', 'group', 'group', 'group']);
    let running: Set<number>[] = [];
    let shared = 0;
    let most = 0;
    const counted: Store = Object.create(store, {
      appendMessages: {
        value: async (batch: readonly NewMessage[], opts?: AppendOptions) => {
          const mine = new Set(batch.map((m) => m.conversationId));
          if (running.some((other) => [...mine].some((c) => other.has(c)))) shared++;
          running.push(mine);
          most = Math.max(most, running.length);
          // A batch's time varies, so a later one can overtake it; a store that orders the
          // calls (SQLite) is promised that order, so there the batch is slow to answer instead.
          const pause = () => new Promise((r) => setTimeout(r, Math.random() * 3));
          try {
            if (!store.appendsInCallOrder) await pause();
            const out = await store.appendMessages(batch, opts);
            if (store.appendsInCallOrder) await pause();
            return out;
          } finally {
            running = running.filter((s) => s !== mine);
          }
        },
      },
    });
    await fc.assert(
      fc.asyncProperty(anySends(conversations.length, 80), (sends) => seqsFollowSends(store, counted, 8, { a, b, conversations, msg }, sends)),
      { numRuns: kind === 'postgres' ? 25 : 40 },
    );
    if (!store.appendsInCallOrder) expect(shared).toBe(0);
    // Batches did run side by side (several conversations, several in the pipeline).
    if (store.appendPipeline > 1) expect(most).toBeGreaterThan(1);
  });

  it('property: where a batch fails and its sends commit one by one, the batches taken after it wait: every conversation\'s seqs still follow its sends', async () => {
    const { store, close } = await openStore(kind);
    cleanup.push(close);
    const { a, b, conversations, msg } = await storeScene(store, ['direct', 'group', 'group']);
    // Inside the transaction, its rows held: a moment's pause (later batches are taken
    // meanwhile), then for a batch over several conversations, at random, a failure: it rolls
    // back, and the writer commits its sends one by one (which never fail). On SQLite, whose
    // pipeline runs the next batch while one flushes, that next batch once committed first.
    let failures = 0;
    store.afterLock = async (conversationIds) => {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      if (conversationIds.length > 1 && Math.random() < 0.3) {
        failures++;
        throw new Error('injected failure after the lock');
      }
    };
    await fc.assert(
      fc.asyncProperty(anySends(conversations.length, 60), (sends) => seqsFollowSends(store, store, 6, { a, b, conversations, msg }, sends)),
      { numRuns: kind === 'postgres' ? 25 : 40 },
    );
    store.afterLock = null;
    expect(failures).toBeGreaterThan(0);
  });

  it('a bad send fails alone; its neighbours commit; drained() waits for all of them', async () => {
    const { store, a, msg } = await setup();
    const announced: number[] = [];
    const writer = new MessageWriter(store, 64, (r) => announced.push(r.message.seq), undefined, store.appendPipeline);
    const outcomes = await Promise.allSettled([
      writer.append(msg(a.id)),
      writer.append(msg(a.id, { conversationId: 999_999 })),
      writer.append(msg(a.id)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const seqs = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.message.seq] : []));
    expect(seqs).toEqual([1, 2]);
    const late = writer.append(msg(a.id));
    let done = false;
    void late.then(() => (done = true));
    await writer.drained();
    expect(done).toBe(true);
    expect(announced).toEqual([1, 2, 3]);
  });
});
