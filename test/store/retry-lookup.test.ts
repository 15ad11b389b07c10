// The retry key (sender, conversation, client id) names one message, whether the append looked
// the batch's client ids up first or let the unique key find the retry (SqlAppend's
// retryLookupWindowMs). Outside the window an append skips the lookup; a retry of a stored send
// then fails the insert, the whole transaction rolls back, and the next attempt looks up. The
// property runs both ways on SQLite and PostgreSQL: after any sequence of batches of new sends
// and retries (in the same batch, in a later one, of another sender or conversation), every
// send's answer and every conversation's history equal a sequential model.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import type { Statement } from '../../src/backends/store/sql-runner.js';
import type { AppendResult, NewMessage } from '../../src/backends/store/store.js';
import { databases } from '../helpers/pg.js';
import { openScratchStore, storeScene, type StoreScene } from '../helpers/store-scene.js';

const RUNS = Number(process.env.RETRY_LOOKUP_RUNS ?? 30);
const SEED = Number(process.env.RETRY_LOOKUP_SEED ?? 20261207);
const isLookup = (sql: string) => /JOIN messages m ON m\.sender_id = v\.column1/.test(sql);

interface Send {
  sender: 0 | 1;
  conv: 0 | 1;
  /** Index into a run's pool of client ids; null: sent without one. */
  key: number | null;
}

describe.each(databases)('the retry key on %s, looked up first or found by the unique key', (dialect) => {
  let store: SqlStore;
  let close: () => Promise<void>;
  /** Lookups the store ran (SELECT … JOIN messages m ON the retry key). */
  let lookups = 0;

  beforeAll(async () => {
    ({ store, close } = await openScratchStore(dialect, 'retry'));
    const runner = store.runner;
    const all = runner.all.bind(runner);
    runner.all = <T,>(st: Statement) => {
      if (isLookup(st.sql)) lookups++;
      return all<T>(st);
    };
  });
  afterAll(() => close());

  it('outside the window a batch of new sends runs no lookup; a stored retry is found, takes no seq, and opens the window', async () => {
    store.append.retryLookupWindowMs = 60_000;
    const { a, b, conversations: [c], msg } = await storeScene(store, ['direct']);
    // A fresh store has met no retry: its window is closed.
    const before = lookups;
    const [first, second] = await store.appendMessages([msg(c.id, a.id, { clientId: 'k1' }), msg(c.id, b.id, { clientId: 'k1' })]);
    expect(lookups - before).toBe(0);
    expect(first).toMatchObject({ created: true, message: { seq: 1 } });
    expect(second).toMatchObject({ created: true, message: { seq: 2 } });

    const [again, fresh] = (await store.appendMessages([msg(c.id, a.id, { clientId: 'k1', content: 'resent' }), msg(c.id, a.id, { clientId: 'k2' })])) as AppendResult[];
    // Not looked up, the insert failed on the unique key, and the second attempt looked up.
    expect(lookups - before).toBe(1);
    expect(again).toMatchObject({ created: false, message: { id: (first as AppendResult).message.id, seq: 1, content: 'm1' } });
    expect(fresh).toMatchObject({ created: true, message: { seq: 3 } });

    // The window is open: the next batch looks up first, once.
    await store.appendMessages([msg(c.id, b.id, { clientId: 'k3' })]);
    expect(lookups - before).toBe(2);
  });

  it('property: any batches of new sends and retries give the answers and histories of a sequential model', async () => {
    const send = fc.record<Send>({ sender: fc.constantFrom(0, 1), conv: fc.constantFrom(0, 1), key: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null, freq: 4 }) });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, Infinity), fc.array(fc.array(send, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }), async (windowMs, batches) => {
        store.append.retryLookupWindowMs = windowMs;
        const scene: StoreScene = await storeScene(store, ['direct', 'group']);
        const users = [scene.a, scene.b];
        const convs = scene.conversations;
        // The model: the first send of each (sender, conversation, key) is the message.
        const originals = new Map<string, { content: string; seq: number }>();
        const history: string[][] = [[], []];
        for (const batch of batches) {
          const input: NewMessage[] = batch.map((s) => scene.msg(convs[s.conv].id, users[s.sender].id, { clientId: s.key === null ? null : `key-${s.key}` }));
          const out = (await store.appendMessages(input)) as AppendResult[];
          batch.forEach((s, i) => {
            const got = out[i];
            const k = s.key === null ? null : `${s.sender}:${s.conv}:${s.key}`;
            const original = k === null ? undefined : originals.get(k);
            if (original) {
              expect(got.created).toBe(false);
              expect(got.message).toMatchObject({ conversationId: convs[s.conv].id, senderId: users[s.sender].id, content: original.content, seq: original.seq });
              return;
            }
            history[s.conv].push(input[i].content!);
            expect(got.created).toBe(true);
            expect(got.message).toMatchObject({ conversationId: convs[s.conv].id, content: input[i].content, seq: history[s.conv].length });
            if (k !== null) originals.set(k, { content: input[i].content!, seq: got.message.seq });
          });
        }
        for (const [i, c] of convs.entries()) {
          const stored = await store.messagesBySeq(c.id, 1, 1000);
          // Gapless, one message per distinct key plus every send without one, in send order.
          expect(stored.map((m) => m.content).reverse()).toEqual(history[i]);
          expect((await store.conversationById(c.id))!.lastSeq).toBe(history[i].length);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
