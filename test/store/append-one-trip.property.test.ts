// On PostgreSQL the append runs as one statement in its locks' round trip (SqlAppend's one
// trip): the statement numbers the messages from the locked rows, the insert draws their ids,
// and each event's body is spliced from the message's JSON around the values the statement
// gives. The rule, after any sequence of batches (any text, metadata, retries of stored sends,
// a key sent twice in one batch, pushes to consider): what the append answers is what is
// stored, each conversation gapless in batch order; a retry answers the original; every new
// message has its one event, in the batch's order, whose body is JSON.stringify of the answer
// byte for byte (what the writes after the locks log); and the two paths store the same thing.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import type { AppendOutcome, NewMessage } from '../../src/backends/store/store.js';
import type { Message } from '../../src/core/model.js';
import { hasPostgres } from '../helpers/pg.js';
import { openScratchStore, storeScene, type StoreScene } from '../helpers/store-scene.js';

const RUNS = Number(process.env.ONE_TRIP_RUNS ?? 30);
const SEED = Number(process.env.ONE_TRIP_SEED ?? 20261208);
const CONVERSATIONS = 3;

/** Texts built of the units that escape or mean something somewhere: JSON, SQL, placeholders, UTF-16. */
const text = fc.string({ unit: fc.constantFrom('a', ' ', 'é', '"', '\\', '\n', '\t', '😀', '</', "'", '?', '$1', '%', '\u2028', '{"id":1}', ',"seq":'), maxLength: 12 });
const send = fc.record({
  c: fc.nat(CONVERSATIONS - 1),
  u: fc.nat(1),
  content: text,
  metadata: fc.option(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), { nil: undefined }),
  // A retry: the client id of an earlier send of the run (by index), or of this batch's.
  retryOf: fc.option(fc.nat(40), { nil: undefined }),
  push: fc.option(fc.record({ direct: fc.boolean(), mention: fc.boolean() }), { nil: undefined }),
});

describe.skipIf(!hasPostgres)('the append in one round trip on PostgreSQL', () => {
  const stores: Record<'oneTrip' | 'after', { store: SqlStore; close: () => Promise<void>; scene: StoreScene }> = {} as never;
  beforeAll(async () => {
    for (const mode of ['oneTrip', 'after'] as const) {
      const { store, close } = await openScratchStore('postgres', `one-trip-${mode}`);
      store.append.oneTrip = mode === 'oneTrip';
      // Retries are looked up (they would else fail the insert and be retried: both paths do that).
      store.append.retryLookupWindowMs = Infinity;
      stores[mode] = { store, close, scene: await storeScene(store, ['direct', 'group', 'group']) };
    }
  });
  afterAll(async () => {
    for (const { close } of Object.values(stores)) await close();
  });

  it('property: the answer is what is stored, gapless; retries answer the original; each event body is the answer\'s JSON; both paths store the same', async () => {
    let retries = 0;
    let created = 0;
    let edits = 0;
    // Each batch may follow an edit of an earlier message, which moves its conversation's change seq past its last seq.
    const step = fc.record({ sends: fc.array(send, { minLength: 1, maxLength: 6 }), editFirst: fc.option(fc.nat(40), { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
        /** Per mode: what each send of the run was answered (in order), and each conversation's last seq. */
        const answers: Record<string, Message[]> = { oneTrip: [], after: [] };
        for (const mode of ['oneTrip', 'after'] as const) {
          const { store, scene } = stores[mode];
          const clientIds: string[] = [];
          const before = await lastSeqs(store, scene);
          const eventsBefore = await eventCount(store);
          const fresh: Message[] = [];
          /** Messages edited since their answer, with the content they were answered with. */
          const edited = new Map<number, string | null>();
          for (const { sends, editFirst } of steps) {
            if (editFirst !== undefined && fresh.length > 0) {
              const target = fresh[editFirst % fresh.length];
              await store.editMessage(target.id, 'edited', 9_000);
              edited.set(target.id, target.content);
              edits++;
            }
            const batch: NewMessage[] = sends.map((s) => {
              const clientId = s.retryOf !== undefined && s.retryOf < clientIds.length ? clientIds[s.retryOf] : randomUUID();
              clientIds.push(clientId);
              const [from, to] = s.u === 0 ? [scene.a, scene.b] : [scene.b, scene.a];
              return scene.msg(scene.conversations[s.c].id, from.id, {
                content: s.content,
                clientId,
                metadataJson: s.metadata,
                notify: s.push && { dueAt: 5_000, direct: s.push.direct, mentionIds: s.push.mention ? [to.id] : [] },
              });
            });
            const out: AppendOutcome[] = await store.appendMessages(batch);
            out.forEach((o, i) => {
              if (!('message' in o)) throw new Error('deferred with nobody holding a lock');
              answers[mode].push(o.message);
              // A send of a key answered before answers that message (created false), else a new one.
              const earlier = answers[mode].slice(0, -1).find((m) => m.clientId === batch[i].clientId && m.conversationId === batch[i].conversationId && m.senderId === batch[i].senderId);
              if (earlier) {
                retries++;
                expect(o.created).toBe(false);
                expect(o.message).toMatchObject({ id: earlier.id, uuid: earlier.uuid, seq: earlier.seq, conversationId: earlier.conversationId });
              } else {
                created++;
                expect(o.created).toBe(true);
                expect(o.message).toMatchObject({ content: batch[i].content, metadataJson: batch[i].metadataJson ?? null, senderId: batch[i].senderId, clientId: batch[i].clientId });
                fresh.push(o.message);
              }
            });
          }
          // Gapless per conversation, in the order answered, from where each stood.
          for (const [k, c] of scene.conversations.entries()) {
            const seqs = fresh.filter((m) => m.conversationId === c.id).map((m) => m.seq);
            expect(seqs).toEqual(seqs.map((_, i) => before[k] + i + 1));
            // Stored as answered (but for the edits made since).
            const stored = (await store.messagesBySeq(c.id, before[k] + 1, before[k] + seqs.length + 1)).sort((x, y) => x.seq - y.seq);
            const unedited = (m: Message) => (m.editedAt === null ? m : { ...m, content: edited.get(m.id) ?? m.content, changeSeq: 0, editedAt: null });
            expect(stored.map(unedited)).toEqual(fresh.filter((m) => m.conversationId === c.id).map((m) => (edited.has(m.id) ? { ...m, changeSeq: 0 } : m)));
          }
          // One event per new message, in order, its body the answer's JSON byte for byte.
          const events = await store.runner.all<{ payload: string; conversation_id: number }>(
            raw("SELECT payload, conversation_id FROM events WHERE type = 'message.created' ORDER BY seq OFFSET ?", [eventsBefore]),
          );
          expect(events.map((e) => e.payload)).toEqual(fresh.map((message) => JSON.stringify({ message })));
          expect(events.map((e) => Number(e.conversation_id))).toEqual(fresh.map((m) => m.conversationId));
        }
        // The two paths answered the same, but for what each draws (ids, uuids) and the scene's ids.
        const shape = (mode: string) => {
          const scene = stores[mode as 'oneTrip'].scene;
          const conv = (id: number) => scene.conversations.findIndex((c) => c.id === id);
          const user = (id: number) => (id === scene.a.id ? 'a' : 'b');
          return answers[mode].map((m) => [conv(m.conversationId), user(m.senderId), m.content, m.metadataJson, m.kind]);
        };
        expect(shape('oneTrip')).toEqual(shape('after'));
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(retries).toBeGreaterThan(0);
    expect(created).toBeGreaterThan(0);
    expect(edits).toBeGreaterThan(0);
  });

  it('the one trip ran: every batch of the property went in one pipeline with its COMMIT', async () => {
    // (Guards the property above from passing on the writes-after-the-locks path twice.)
    const { store, scene } = stores.oneTrip;
    const pipelines: string[] = [];
    const client = (await import('pg')).default.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const query = client.query;
    client.query = function (this: unknown, ...args: unknown[]) {
      const steps = (args[0] as { steps?: { text: string }[] })?.steps;
      if (steps) pipelines.push(steps.map((s) => s.text.slice(0, 8)).join('|'));
      return query.apply(this, args);
    };
    try {
      await store.appendMessages([scene.msg(scene.conversations[0].id, scene.a.id), scene.msg(scene.conversations[1].id, scene.b.id)]);
    } finally {
      client.query = query;
    }
    expect(pipelines).toHaveLength(1);
    expect(pipelines[0]).toMatch(/\|WITH vm \|COMMIT$/);
  });
});

async function lastSeqs(store: SqlStore, scene: StoreScene): Promise<number[]> {
  const out: number[] = [];
  for (const c of scene.conversations) out.push(Number((await store.runner.all<{ last_seq: number }>(raw('SELECT last_seq FROM conversations WHERE id = ?', [c.id])))[0].last_seq));
  return out;
}

async function eventCount(store: SqlStore): Promise<number> {
  return Number((await store.runner.all<{ n: number }>(raw("SELECT count(*) AS n FROM events WHERE type = 'message.created'", [])))[0].n);
}
