import fc from 'fast-check';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';
import { api, eventually, newUser, type ApiResponse, type TestUser } from '../helpers/clients.js';
import { ciForm } from '../helpers/ci-form.js';

// Issue 15, item 6: an edit, delete or reaction decides on the message as the previous change
// of its conversation left it. The race is made on purpose: a third connection holds the
// conversation's row lock (as a process frozen mid-commit would), the changes are sent and
// queue behind it, then the lock is released and they run back to back. Before the fix each
// one had read the message before queueing, so the later ones decided on what they had read.

const P = '/api/parley';

/** A PostgreSQL session that holds a conversation's row lock until `release()`. */
async function holdConversation(databaseUrl: string, conversationId: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
  const waiting = async () => {
    // Activity statistics are a snapshot per transaction, and this session stays in one.
    await client.query('SELECT pg_stat_clear_snapshot()');
    return Number(
      (
        await client.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        )
      ).rows[0].n,
    );
  };
  return {
    /** Resolves once `n()` other sessions wait for a lock (the changes sent so far are queued). */
    async queued(n: () => number) {
      await eventually(async () => expect(await waiting()).toBe(n()), { timeoutMs: 10_000 });
    },
    async release() {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

describe.runIf(hasPostgres)('changes of one conversation decide under its lock (PostgreSQL)', () => {
  const server = useParley({ db: 'postgres' });
  let alice: TestUser;
  let bob: TestUser;
  let group: number;

  beforeAll(async () => {
    alice = await newUser(server, { name: 'Alice' });
    bob = await newUser(server, { name: 'Bob' });
    const res = await api(server, 'POST', `${P}/conversations`, { token: alice.token, json: { kind: 'group', title: 'race', member_ids: [bob.user.id] } });
    expect(res.status).toBe(201);
    group = res.body.id;
  });

  const send = async (u: TestUser, content: string, replyTo: number | null = null) => {
    const res = await api(server, 'POST', `${P}/conversations/${group}/messages`, { token: u.token, json: { content, reply_to_id: replyTo } });
    expect(res.status).toBe(201);
    return res.body as { id: number; change_seq: number };
  };
  const row = async (id: number) => {
    const c = new pg.Client({ connectionString: server.data.databaseUrl });
    await c.connect();
    try {
      const m = (await c.query('SELECT content, edited_at, deleted_at, reply_count, change_seq FROM messages WHERE id = $1', [id])).rows[0];
      const reactions = (await c.query('SELECT user_id, emoji FROM reactions WHERE message_id = $1 ORDER BY user_id, emoji', [id])).rows;
      return { ...m, reactions };
    } finally {
      await c.end();
    }
  };

  /** Sends `requests` one after the other into the queue behind the held lock, then lets them run. */
  async function queuedBehindLock<T>(requests: (() => Promise<ApiResponse<T>>)[]): Promise<ApiResponse<T>[]> {
    const lock = await holdConversation(server.data.databaseUrl, group);
    const pending: Promise<ApiResponse<T>>[] = [];
    // A request the core refuses before it reaches the store (a rule, e.g. Bob deleting
    // Alice's message) never queues.
    let answered = 0;
    try {
      for (const r of requests) {
        pending.push(r().finally(() => answered++));
        await lock.queued(() => pending.length - answered);
      }
    } finally {
      await lock.release();
    }
    return Promise.all(pending);
  }

  it('an edit queued behind a delete finds it deleted: no text in the tombstone, no "edited" after "deleted"', async () => {
    const m = await send(alice, 'original');
    const [del, edit] = await queuedBehindLock([
      () => api(server, 'DELETE', `${P}/messages/${m.id}`, { token: alice.token }),
      () => api(server, 'PATCH', `${P}/messages/${m.id}`, { token: alice.token, json: { content: 'written into a tombstone' } }),
    ]);
    expect(del.status).toBe(200);
    expect(edit.status).toBe(400);
    expect(edit.body).toMatchObject({ code: 'message_deleted' });
    expect(await row(m.id)).toMatchObject({ content: null, edited_at: null, change_seq: del.body.change_seq });
  });

  it('two deletes of one reply: one applies, the parent keeps counting its other live reply', async () => {
    const parent = await send(alice, 'parent');
    const reply = await send(bob, 'reply 1', parent.id);
    await send(alice, 'reply 2', parent.id);
    const [d1, d2] = await queuedBehindLock([
      () => api(server, 'DELETE', `${P}/messages/${reply.id}`, { token: bob.token }),
      () => api(server, 'DELETE', `${P}/messages/${reply.id}`, { token: alice.token }),
    ]);
    expect([d1.status, d2.status]).toEqual([200, 200]);
    // The second answers with the first's tombstone: the same change.
    expect(d2.body.change_seq).toBe(d1.body.change_seq);
    expect((await row(parent.id)).reply_count).toBe(1);
  });

  it('a reaction queued behind a delete is refused and not stored', async () => {
    const m = await send(bob, 'soon gone');
    const [del, react] = await queuedBehindLock([
      () => api(server, 'DELETE', `${P}/messages/${m.id}`, { token: bob.token }),
      () => api(server, 'PUT', `${P}/messages/${m.id}/reactions/${encodeURIComponent('👍')}`, { token: alice.token }),
    ]);
    expect(del.status).toBe(200);
    expect(react.status).toBe(400);
    expect(react.body).toMatchObject({ code: 'message_deleted' });
    expect((await row(m.id)).reactions).toEqual([]);
  });

  // Any set of changes released at once ends as some sequential order of them would: the
  // order is the change_seq each success was given.
  it('property: any changes released at once end as their change_seq order says', async () => {
    const emojis = ['👍', '🎉'];
    const op = fc.oneof(
      fc.record({ t: fc.constant('edit' as const), m: fc.nat(2), text: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() !== '') }),
      fc.record({ t: fc.constant('delete' as const), m: fc.nat(2), by: fc.constantFrom('alice', 'bob') }),
      fc.record({ t: fc.constant('react' as const), m: fc.nat(2), by: fc.constantFrom('alice', 'bob'), emoji: fc.constantFrom(...emojis), on: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 7 }), async (ops) => {
        // m0 by Alice; m1 (Bob) and m2 (Alice) reply to it.
        const m0 = await send(alice, 'zero');
        const m1 = await send(bob, 'one', m0.id);
        const m2 = await send(alice, 'two', m0.id);
        const msgs = [m0, m1, m2];
        const senderOf = [alice, bob, alice];
        const user = (n: 'alice' | 'bob') => (n === 'alice' ? alice : bob);
        const requests = ops.map((o) => () => {
          const id = msgs[o.m].id;
          if (o.t === 'edit') return api(server, 'PATCH', `${P}/messages/${id}`, { token: senderOf[o.m].token, json: { content: o.text } });
          if (o.t === 'delete') return api(server, 'DELETE', `${P}/messages/${id}`, { token: user(o.by).token });
          return api(server, o.on ? 'PUT' : 'DELETE', `${P}/messages/${id}/reactions/${encodeURIComponent(o.emoji)}`, { token: user(o.by).token });
        });
        const results = await queuedBehindLock(requests);

        for (let i = 0; i < 3; i++) {
          const final = await row(msgs[i].id);
          const mine = ops.map((o, k) => ({ o, r: results[k] })).filter((x) => x.o.m === i);
          // A delete by anyone may be refused (Bob deleting Alice's message): that is a rule, not a race.
          const deletes = mine.filter((x) => x.o.t === 'delete' && x.r.status === 200);
          const deleted = final.deleted_at !== null;
          expect(deleted).toBe(deletes.length > 0);
          const done = mine.filter((x) => x.r.status === 200);
          for (const x of mine) if (x.r.status !== 200) expect(x.r.body.code === 'message_deleted' ? deleted : true).toBe(true);
          if (deleted) {
            expect(final.content).toBeNull();
            // Nothing took effect after the delete: every other success came first.
            for (const x of done) if (x.o.t !== 'delete') expect(x.r.body.change_seq).toBeLessThan(final.change_seq);
            for (const x of deletes) expect(x.r.body.change_seq).toBe(final.change_seq);
          } else {
            const edits = done.filter((x) => x.o.t === 'edit').sort((a, b) => a.r.body.change_seq - b.r.body.change_seq);
            expect(final.content).toBe(edits.length ? (edits.at(-1)!.o as { text: string }).text : ['zero', 'one', 'two'][i]);
          }
          // Each (user, emoji) ends as the newest successful reaction on it asked.
          for (const by of ['alice', 'bob'] as const) {
            for (const emoji of emojis) {
              const last = done
                .filter((x) => x.o.t === 'react' && x.o.by === by && x.o.emoji === emoji)
                .sort((a, b) => a.r.body.change_seq - b.r.body.change_seq)
                .at(-1);
              const has = final.reactions.some((r: { user_id: number; emoji: string }) => r.user_id === user(by).user.id && r.emoji === emoji);
              expect(has).toBe(last ? (last.o as { on: boolean }).on : false);
            }
          }
        }
        // The parent counts its live replies.
        const live = [m1, m2].length - (await Promise.all([row(m1.id), row(m2.id)])).filter((r) => r.deleted_at !== null).length;
        expect((await row(m0.id)).reply_count).toBe(live);
      }),
      { numRuns: Number(process.env.RACE_RUNS ?? ciForm(12, 6)), seed: Number(process.env.RACE_SEED ?? 15_6) },
    );
  }, 120_000);
});
