// The append's first round trip on PostgreSQL is one pipeline of statements, two of them
// prepared once per connection (SqlRunner.steps); a wait for a conversation another session
// holds is given up inside it, the batch then takes what is free and defers the rest. The
// rule, after any sequence of holds, releases, probes and appends on the same connections:
// every send is stored or deferred, never failed (a statement parsed twice, or bound before it
// was parsed, would fail the append on that connection); it is deferred exactly when its
// conversation is held elsewhere; and what is stored is numbered gapless per conversation.
import pg from 'pg';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { storeScene } from '../helpers/store-scene.js';

const RUNS = Number(process.env.LOCK_PIPELINE_RUNS ?? 25);
const SEED = Number(process.env.LOCK_PIPELINE_SEED ?? 20261207);
const CONVERSATIONS = 3;

const action = fc.oneof(
  fc.record({ t: fc.constant('hold' as const), c: fc.nat(CONVERSATIONS - 1) }),
  fc.record({ t: fc.constant('release' as const) }),
  {
    arbitrary: fc.record({
      t: fc.constant('append' as const),
      sends: fc.array(fc.record({ c: fc.nat(CONVERSATIONS - 1), u: fc.nat(1) }), { minLength: 1, maxLength: 5 }),
      // Conversations only tried (SKIP LOCKED), as the writer does for ones deferred before.
      probe: fc.subarray([0, 1, 2]),
    }),
    weight: 4,
  },
);

describe.skipIf(!hasPostgres)('the append\'s lock pipeline on PostgreSQL', () => {
  let url: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ url, drop } = await newPostgresDatabase());
  });
  afterAll(() => drop());

  for (const poolSize of [1, 2]) {
    it(`property (${poolSize} connection${poolSize > 1 ? 's' : ''}): every send stored or deferred, deferred exactly where held, stored gapless`, async () => {
      const store: SqlStore = createPostgresStore(url, { poolSize });
      await store.migrate();
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      let deferred = 0;
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
            const { a, b, conversations, msg } = await storeScene(store, Array.from({ length: CONVERSATIONS }, () => 'group' as const));
            const users = [a, b];
            const held = new Set<number>();
            const lastSeq = conversations.map(() => 0);
            try {
              for (const act of actions) {
                if (act.t === 'hold') {
                  if (held.size === 0) await holder.query('BEGIN');
                  await holder.query('SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [conversations[act.c].id]);
                  held.add(act.c);
                } else if (act.t === 'release') {
                  if (held.size > 0) await holder.query('ROLLBACK');
                  held.clear();
                } else {
                  const probe = new Set(act.probe.map((c) => conversations[c].id));
                  const out = await store.appendMessages(
                    act.sends.map((s) => msg(conversations[s.c].id, users[s.u].id)),
                    { probe, waitMs: 15 },
                  );
                  act.sends.forEach((s, i) => {
                    const o = out[i];
                    expect('deferred' in o, `send ${i} to c${s.c}, held ${[...held]}`).toBe(held.has(s.c));
                    if ('deferred' in o) return void deferred++;
                    expect(o.message.seq).toBe(++lastSeq[s.c]);
                  });
                }
              }
            } finally {
              if (held.size > 0) await holder.query('ROLLBACK');
            }
            for (const [c, conv] of conversations.entries()) {
              const seqs = (await store.runner.all<{ seq: number }>(raw('SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq', [conv.id]))).map((r) => Number(r.seq));
              expect(seqs).toEqual(Array.from({ length: lastSeq[c] }, (_, i) => i + 1));
            }
          }),
          { numRuns: RUNS, seed: SEED + poolSize },
        );
      } finally {
        await holder.end();
        await store.close();
      }
      // The runs gave up waits, so the pipelines' failures and the connections after them were tried.
      expect(deferred).toBeGreaterThan(0);
    });
  }
});
