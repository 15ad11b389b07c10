import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import type { AppendResult, Store } from '../../src/backends/store/store.js';
import { MessageWriter } from '../../src/core/messages/writer.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { sleep } from '../helpers/sleep.js';
import { storeScene } from '../helpers/store-scene.js';

// The writer's fairness as a property (stalled-conversation-fairness.test.ts shows one case):
// for any interleaving of sends to a few conversations while another process keeps the first
// one busy, every send is acknowledged, each conversation's in the order sent with seqs
// 1, 2, 3…, and none waits more than a few of that process's commits: the wait is measured in
// the other side's turns with the row, not in milliseconds. PostgreSQL only: SQLite has one
// writer and no row another process can hold.

const HOLD_MS = 120;
/** Turns of the other side with the row a send to the busy conversation may wait through, and one to a quiet one. */
const BUSY_TURNS = 4;
const QUIET_TURNS = 2;
/** Past this many turns in one run the writer is starving the conversation. */
const STARVED_TURNS = 30;

/** Another process that keeps one conversation's row busy: holds it HOLD_MS, lets go, takes it again, counting its commits. */
class BusyElsewhere {
  commits = 0;
  readonly holding: Promise<void>;
  #stopped = false;
  #onCommit: (() => void)[] = [];
  readonly #loop: Promise<void>;

  constructor(client: pg.Client, conversationId: number, onCommit: (commits: number) => void) {
    let held!: () => void;
    this.holding = new Promise((r) => (held = r));
    this.#loop = (async () => {
      while (!this.#stopped) {
        await client.query('BEGIN');
        await client.query('SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
        held();
        await sleep(HOLD_MS);
        await client.query('COMMIT');
        onCommit(++this.commits);
        for (const f of this.#onCommit.splice(0)) f();
        await sleep(2);
      }
    })();
  }

  nextCommit(): Promise<void> {
    return new Promise((r) => this.#onCommit.push(r));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    for (const f of this.#onCommit.splice(0)) f();
  }
}

type Step = { conv: number; then: 'now' | 'turn' | 'commit' };

describe.runIf(hasPostgres)('the writer is fair to a conversation another process keeps busy (property)', () => {
  let db: Awaited<ReturnType<typeof newPostgresDatabase>>;
  let store: Store;
  let competitor: pg.Client;
  beforeAll(async () => {
    db = await newPostgresDatabase();
    store = createPostgresStore(db.url, { poolSize: 4, lockWaitMs: 50 });
    competitor = new pg.Client({ connectionString: db.url });
    await competitor.connect();
  });
  afterAll(async () => {
    await competitor?.end();
    await store?.close();
    await db?.drop();
  });

  it('any interleaving: every send acknowledged, in seq order per conversation, within a few of the other side\'s commits', { timeout: 60_000 }, async () => {
    const steps = fc.array(fc.record({ conv: fc.integer({ min: 0, max: 2 }), then: fc.constantFrom<Step['then']>('now', 'turn', 'commit') }), { minLength: 1, maxLength: 10 });
    await fc.assert(
      fc.asyncProperty(steps, async (plan) => {
        const { a, conversations, msg } = await storeScene(store, ['group', 'group', 'group']);
        const ids = conversations.map((c) => c.id);
        let starve!: (e: Error) => void;
        const starved = new Promise<never>((_, reject) => (starve = reject));
        const other = new BusyElsewhere(competitor, ids[0], (commits) => {
          if (commits > STARVED_TURNS) starve(new Error(`starved: sends still waiting after ${commits} commits of the other side`));
        });
        await other.holding;
        const writer = new MessageWriter(store, 64, () => {}, undefined, store.appendPipeline);
        const sent: { conv: number; content: string; waited?: number; result?: AppendResult }[] = [];
        const acked: number[][] = ids.map(() => []);
        const sends: Promise<void>[] = [];
        try {
          for (const step of plan) {
            const input = msg(ids[step.conv], a.id);
            const at = other.commits;
            const entry: (typeof sent)[number] = { conv: step.conv, content: input.content! };
            sent.push(entry);
            sends.push(
              writer.append(input).then((result) => {
                entry.result = result;
                entry.waited = other.commits - at;
                acked[step.conv].push(result.message.seq);
              }),
            );
            if (step.then === 'turn') await new Promise((r) => setImmediate(r));
            else if (step.then === 'commit') await other.nextCommit();
          }
          await Promise.race([Promise.all(sends), starved]);
          await writer.drained();
        } finally {
          await other.stop();
        }
        // The model: each conversation numbers its sends 1, 2, 3… in the order they were sent.
        for (const [conv] of ids.entries()) {
          const mine = sent.filter((s) => s.conv === conv);
          expect(mine.map((s) => [s.result!.message.seq, s.result!.message.content])).toEqual(mine.map((s, i) => [i + 1, s.content]));
          expect(acked[conv]).toEqual(mine.map((_, i) => i + 1));
        }
        for (const s of sent) expect(s.waited, `a send to conversation ${s.conv} waited ${s.waited} commits of the other side`).toBeLessThanOrEqual(s.conv === 0 ? BUSY_TURNS : QUIET_TURNS);
      }),
      { numRuns: 6, seed: 16_5 },
    );
  });
});
