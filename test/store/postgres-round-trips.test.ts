import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { loadConfig } from '../../src/config/config.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { storeScene } from '../helpers/store-scene.js';

// Every round trip of an append is a socket write and a wake-up of the backend and of the
// process, inside the conversations' locks (the other process waits for them): the append's
// BEGIN goes with its first statement, the conversations' lock, in one round trip.

/** The texts pg's clients send, in order (observed: every query still runs on the database). */
function recordQueries(): { texts: string[]; names: (string | undefined)[]; committing: boolean[]; steps: ({ text: string; name: string | undefined }[] | undefined)[]; stop: () => void } {
  const texts: string[] = [];
  const names: (string | undefined)[] = [];
  /** Sent with its transaction's COMMIT in the same round trip (Statement.commits). */
  const committing: boolean[] = [];
  /** A pipeline's (SqlRunner.steps) statements, each with its prepared name. */
  const steps: ({ text: string; name: string | undefined }[] | undefined)[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    const pipeline = typeof q === 'string' ? undefined : (q as { steps?: { text: string; name: string | undefined }[] }).steps;
    texts.push(typeof q === 'string' ? q : String((q as { text?: string })?.text ?? ''));
    names.push(typeof q === 'string' ? undefined : (q as { name?: string })?.name);
    committing.push(typeof q === 'string' ? /; COMMIT$/.test(q) : (q as object).constructor.name === 'CommittingQuery' || pipeline?.at(-1)?.text === 'COMMIT');
    steps.push(pipeline?.map((x) => ({ text: x.text, name: x.name })));
    return query.apply(this, args);
  };
  return { texts, names, committing, steps, stop: () => void (proto.query = query) };
}

describe.skipIf(!hasPostgres)('PostgreSQL round trips', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  /** `oneTrip` false: the append's writes go after its locks' round trip (SqlAppend.oneTrip). */
  async function setup(preparedStatements = true, oneTrip = true) {
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url, { poolSize: 4, preparedStatements });
    store.append.oneTrip = oneTrip;
    cleanup.push(async () => (await store.close(), await db.drop()));
    const scene = await storeScene(store, ['direct', 'group']);
    return { store, ...scene };
  }

  it('an append sends no BEGIN of its own: it leads the lock statement', async () => {
    const { store, a, b, conversations: [c1, c2], msg } = await setup();
    const rec = recordQueries();
    try {
      const out = await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id), msg(c1.id, b.id)]);
      expect(out.every((o) => 'message' in o)).toBe(true);
    } finally {
      rec.stop();
    }
    expect(rec.texts.filter((t) => /^\s*BEGIN\s*$/i.test(t))).toEqual([]);
    // No retry turned up lately, so no lookup (SqlAppend.retryLookupWindowMs): the first
    // query is the transaction's, which begins with the lock.
    expect(rec.texts[0]).toMatch(/^BEGIN; SAVEPOINT lock_wait;/);
    // Nor a COMMIT of its own: it goes with the last statement.
    expect(rec.texts).not.toContain('COMMIT');
    expect(rec.committing.at(-1)).toBe(true);
    // Committed: another connection reads the messages.
    expect((await store.messagesBySeq(c1.id, 1, 10)).length).toBe(2);
  });

  // The conversations' rows are held from the lock's round trip to the COMMIT, and the other
  // processes' appends to them wait that long: the retry lookup (when one runs) reads before
  // the transaction, the lock takes the watermarks' rows with it, reads the conversations' counters and draws
  // the messages' ids, so every write of the batch is one statement: the seqs' UPDATE, the
  // messages, the search index, push outbox and events log, and the watermarks, sent with the
  // COMMIT: the senders' rows were locked current in the first round trip, so nothing after
  // the writes can still roll them back.
  it('an append holds its locks for one round trip: the locks, one statement of every write, the COMMIT', async () => {
    const { store, a, b, conversations: [c1, c2], msg } = await setup();
    const rec = recordQueries();
    let out: Awaited<ReturnType<typeof store.appendMessages>> = [];
    try {
      // One with a push to consider (the outbox's INSERT reads it), one with a mention.
      const notify = { dueAt: 2000, direct: true, mentionIds: [] };
      out = await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id, { notify }), msg(c1.id, b.id, { notify: { dueAt: 2000, direct: false, mentionIds: [a.id] } })]);
    } finally {
      rec.stop();
    }
    expect(out.every((o) => 'message' in o && o.created)).toBe(true);
    // One pipeline, one Sync: BEGIN, the bounded wait for the conversations' rows, the
    // participants' rows (no id drawn: the insert draws them), the writes, COMMIT.
    expect(rec.texts).toHaveLength(1);
    expect(rec.steps[0]!.map((x) => x.text.replace(/\s+/g, ' ').slice(0, 40))).toEqual([
      'BEGIN',
      'SAVEPOINT lock_wait',
      expect.stringMatching(/^SET LOCAL lock_timeout = \d+$/),
      expect.stringMatching(/^SELECT id, last_seq, change_seq/),
      'SET LOCAL lock_timeout = DEFAULT',
      expect.stringMatching(/^SELECT count\(\*\) FILTER/),
      expect.stringMatching(/^WITH vm AS \(SELECT \* FROM \(SELECT/),
      'COMMIT',
    ]);
    expect(rec.steps[0]![6].text).toMatch(/UPDATE conversations SET last_seq.*INSERT INTO messages \(uuid, .*INSERT INTO message_search.*INSERT INTO notification_outbox.*INSERT INTO notification_outbox.*INSERT INTO events.*UPDATE participants.*parley_refuse_unless/s);
    expect(rec.steps[0]![6].name).toMatch(/^parley_\d+$/);
    const sent = out.map((o) => ('message' in o ? o.message : null)!);
    // What the append answered is what is stored: seqs gapless per conversation, in batch order.
    expect(sent.map((m) => [m.conversationId, m.seq, m.changeSeq])).toEqual([[c1.id, 1, 1], [c2.id, 1, 1], [c1.id, 2, 2]]);
    for (const m of sent) {
      const [again] = await store.messagesBySeq(m.conversationId, m.seq, m.seq);
      expect(again).toMatchObject({ id: m.id, uuid: m.uuid, seq: m.seq, changeSeq: m.changeSeq, content: m.content, senderId: m.senderId, clientId: m.clientId });
    }
    // The ids were drawn in the batch's order, so a conversation's grow with its seqs.
    expect(sent[0].id).toBeLessThan(sent[1].id);
    expect(sent[1].id).toBeLessThan(sent[2].id);
    const [{ last_seq, change_seq }] = await store.runner.all<{ last_seq: number; change_seq: number }>(raw('SELECT last_seq, change_seq FROM conversations WHERE id = ?', [c1.id]));
    expect([Number(last_seq), Number(change_seq)]).toEqual([2, 2]);
    // Each message's index row, by its id.
    const [{ joined }] = await store.runner.all<{ joined: number }>(raw('SELECT count(*) AS joined FROM messages m JOIN message_search s ON s.rowid = m.id', []));
    expect(Number(joined)).toBe(3);
    // Each event's body is the message's JSON, byte for byte what the writes after the locks
    // write (JSON.stringify of the answer), in the batch's order, with the conversation's tenant.
    const events = await store.runner.all<{ payload: string; conversation_id: number; tenant_id: number; created_at: number }>(
      raw("SELECT payload, conversation_id, tenant_id, created_at FROM events WHERE type = 'message.created' ORDER BY seq", []),
    );
    expect(events.map((e) => e.payload)).toEqual(sent.map((message) => JSON.stringify({ message })));
    const [{ tenant_id }] = await store.runner.all<{ tenant_id: number }>(raw('SELECT tenant_id FROM conversations WHERE id = ?', [c1.id]));
    expect(events.map((e) => [Number(e.conversation_id), Number(e.tenant_id), Number(e.created_at)])).toEqual(sent.map((m) => [m.conversationId, Number(tenant_id), m.createdAt]));
    // The senders' watermarks moved to their newest message; the others' did not.
    const rows = await store.runner.all<{ user_id: number; sent_seq: number; delivered_seq: number; seen_seq: number }>(
      raw('SELECT user_id, sent_seq, delivered_seq, seen_seq FROM participants WHERE conversation_id = ? ORDER BY user_id', [c1.id]),
    );
    expect(rows.map((r) => [Number(r.user_id), Number(r.sent_seq), Number(r.delivered_seq), Number(r.seen_seq)])).toEqual([[a.id, 1, 1, 1], [b.id, 2, 2, 2]].sort((x, y) => x[0] - y[0]));
  });

  it('one trip: a sender who has left, or a deleted conversation, fails the statement; its COMMIT is skipped and nothing commits', async () => {
    const { store, a, b, conversations: [c1, c2], msg } = await setup();
    const rec = recordQueries();
    try {
      await store.runner.run(raw('UPDATE participants SET left_at = 5 WHERE conversation_id = ? AND user_id = ?', [c1.id, a.id]));
      await expect(store.appendMessages([msg(c2.id, b.id), msg(c1.id, a.id)])).rejects.toMatchObject({ name: 'StoreError', code: 'conversation_not_found' });
      await store.runner.run(raw('UPDATE participants SET left_at = NULL WHERE conversation_id = ? AND user_id = ?', [c1.id, a.id]));
      await store.runner.run(raw('UPDATE conversations SET deleted_at = 5 WHERE id = ?', [c1.id]));
      await expect(store.appendMessages([msg(c2.id, b.id), msg(c1.id, a.id)])).rejects.toMatchObject({ name: 'StoreError', code: 'conversation_not_found' });
      // Every conversation of the batch deleted: the statement writes nothing.
      await expect(store.appendMessages([msg(c1.id, a.id)])).rejects.toMatchObject({ name: 'StoreError', code: 'conversation_not_found' });
    } finally {
      rec.stop();
    }
    // Each went as one pipeline with its COMMIT, then the ROLLBACK of the failed transaction.
    expect(rec.committing.filter(Boolean)).toHaveLength(3);
    expect(rec.texts.filter((t) => t === 'ROLLBACK').length).toBeGreaterThanOrEqual(2);
    for (const c of [c1, c2]) expect(await store.messagesBySeq(c.id, 1, 10)).toEqual([]);
    const [counts] = await store.runner.all<Record<string, number>>(
      raw(
        "SELECT (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM events WHERE type = 'message.created') AS events, (SELECT count(*) FROM message_search) AS indexed, (SELECT sum(last_seq) FROM conversations) AS last_seqs, (SELECT sum(sent_seq) FROM participants) AS sent_seqs",
        [],
      ),
    );
    expect(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)]))).toEqual({ messages: 0, events: 0, indexed: 0, last_seqs: 0, sent_seqs: 0 });
    // The connections serve the next append.
    expect((await store.appendMessages([msg(c2.id, b.id)])).every((o) => 'message' in o)).toBe(true);
  });

  it('writes after the locks: two round trips, the lock, then every write with the COMMIT', async () => {
    const { store, a, b, conversations: [c1, c2], msg } = await setup(true, false);
    const rec = recordQueries();
    try {
      // One with a push to consider, so the outbox's INSERT is in the statement too.
      const notify = { dueAt: 2000, direct: true, mentionIds: [] };
      const out = await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id, { notify }), msg(c1.id, b.id)]);
      expect(out.every((o) => 'message' in o)).toBe(true);
    } finally {
      rec.stop();
    }
    expect(rec.texts).toHaveLength(2);
    // The first: one pipeline (one Sync) of the BEGIN, the bounded wait for the conversations'
    // rows, which answer with their counters, and the participants' rows, counted current as
    // they are locked, with the messages' ids.
    expect(rec.texts[0]).toMatch(
      /^BEGIN; SAVEPOINT lock_wait; SET LOCAL lock_timeout = \d+; SELECT id, last_seq, .*FROM conversations WHERE id = ANY\(CAST\(\$1 AS BIGINT\[\]\)\) ORDER BY id FOR UPDATE; SET LOCAL lock_timeout = DEFAULT; SELECT count\(\*\) FILTER \(WHERE p.left_at IS NULL\) AS current_participants, .*nextval\('messages_id_seq'\).*FROM participants .* FOR UPDATE\) p$/s,
    );
    expect(rec.texts[1]).toMatch(/^WITH w0 AS \(UPDATE conversations SET last_seq.*INSERT INTO messages \(id, .*INSERT INTO message_search.*INSERT INTO notification_outbox.*INSERT INTO events.*UPDATE participants/s);
    expect(rec.committing).toEqual([false, true]);
    // Everything of the batch committed: messages, watermarks, index rows, events.
    expect((await store.messagesBySeq(c1.id, 1, 10)).map((m) => [m.seq, m.changeSeq]).sort((x, y) => x[0] - y[0])).toEqual([[1, 1], [2, 2]]);
    const [{ last_seq, change_seq }] = await store.runner.all<{ last_seq: number; change_seq: number }>(raw('SELECT last_seq, change_seq FROM conversations WHERE id = ?', [c1.id]));
    expect([Number(last_seq), Number(change_seq)]).toEqual([2, 2]);
    const [{ n }] = await store.runner.all<{ n: number }>(raw('SELECT count(*) AS n FROM message_search', []));
    expect(Number(n)).toBe(3);
    const [{ e }] = await store.runner.all<{ e: number }>(raw("SELECT count(*) AS e FROM events WHERE type = 'message.created'", []));
    expect(Number(e)).toBe(3);
    const rows = await store.runner.all<{ user_id: number; sent_seq: number }>(raw('SELECT user_id, sent_seq FROM participants WHERE conversation_id = ? ORDER BY user_id', [c1.id]));
    expect(rows.map((r) => [Number(r.user_id), Number(r.sent_seq)])).toEqual([[a.id, 1], [b.id, 2]].sort((x, y) => x[0] - y[0]));
    // The drawn ids are the messages' own (the index rows point at them), growing with the seqs.
    const stored = (await store.messagesBySeq(c1.id, 1, 10)).sort((x, y) => x.seq - y.seq);
    expect(stored[0].id).toBeLessThan(stored[1].id);
    const [{ joined }] = await store.runner.all<{ joined: number }>(raw('SELECT count(*) AS joined FROM messages m JOIN message_search s ON s.rowid = m.id', []));
    expect(Number(joined)).toBe(3);
  });

  it('writes after the locks: a sender who has left, the writes go without the COMMIT, and nothing of the batch commits', async () => {
    const { store, a, b, conversations: [c1, c2], msg } = await setup(true, false);
    await store.runner.run(raw('UPDATE participants SET left_at = 5 WHERE conversation_id = ? AND user_id = ?', [c1.id, a.id]));
    const rec = recordQueries();
    try {
      await expect(store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id)])).rejects.toMatchObject({ code: 'conversation_not_found' });
    } finally {
      rec.stop();
    }
    // The lock's round trip counted one current sender of two: the watermarks' UPDATE, which
    // moves only current ones, is what tells, so it went alone and the batch rolled back.
    expect(rec.committing.every((c) => !c)).toBe(true);
    expect(rec.texts.at(-1)).toBe('ROLLBACK');
    expect(await store.messagesBySeq(c2.id, 1, 10)).toEqual([]);
  });

  describe('a statement that carries its transaction\'s COMMIT (Statement.commits)', () => {
    const lastSeq = async (store: Awaited<ReturnType<typeof setup>>['store'], id: number) =>
      Number((await store.runner.all<{ last_seq: number }>(raw('SELECT last_seq FROM conversations WHERE id = ?', [id])))[0].last_seq);

    it('commits with it, in the same round trip, with or without parameters; committed() is told once', async () => {
      const { store, conversations: [c1, c2] } = await setup();
      const told: string[] = [];
      const rec = recordQueries();
      try {
        // Parameters: after the BEGIN, one extended-protocol exchange with the COMMIT before its Sync.
        await store.runner.transaction(
          async (tx) => {
            await tx.run({ ...raw('UPDATE conversations SET last_seq = ? WHERE id = ?', [7, c1.id]), commits: true });
            return 'one';
          },
          (out) => told.push(out),
        );
        // None, as its transaction's first statement: BEGIN, it and COMMIT in one simple query.
        await store.runner.transaction(
          async (tx) => {
            await tx.run({ ...raw(`UPDATE conversations SET last_seq = 8 WHERE id = ${c2.id}`, []), commits: true });
            return 'two';
          },
          (out) => told.push(out),
        );
      } finally {
        rec.stop();
      }
      expect(rec.texts).toEqual(['BEGIN', 'UPDATE conversations SET last_seq = $1 WHERE id = $2', `BEGIN; UPDATE conversations SET last_seq = 8 WHERE id = ${c2.id}; COMMIT`]);
      expect(rec.committing).toEqual([false, true, true]);
      expect(told).toEqual(['one', 'two']);
      expect([await lastSeq(store, c1.id), await lastSeq(store, c2.id)]).toEqual([7, 8]);
    });

    it('that fails commits nothing of its transaction, and the connections serve the next ones', async () => {
      const { store, conversations: [c1] } = await setup();
      for (const failing of [{ ...raw('SELECT 1 / (CAST(? AS INTEGER) - 1)', [1]), prepared: true, commits: true }, { ...raw('SELECT 1 / 0', []), commits: true }]) {
        await expect(
          store.runner.transaction(async (tx) => {
            await tx.run(raw('UPDATE conversations SET last_seq = last_seq + 100 WHERE id = ?', [c1.id]));
            await tx.all(failing);
          }),
        ).rejects.toThrow(/division by zero/);
        expect(await lastSeq(store, c1.id)).toBe(0);
      }
      // Every pooled connection is out of its transaction: four at once each commit their own.
      await Promise.all([1, 2, 3, 4].map(() => store.runner.transaction((tx) => tx.run({ ...raw('UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?', [c1.id]), commits: true }))));
      expect(await lastSeq(store, c1.id)).toBe(4);
    });

    it('ends the transaction: a statement after it is refused, what it committed stays', async () => {
      const { store, conversations: [c1] } = await setup();
      await expect(
        store.runner.transaction(async (tx) => {
          await tx.run({ ...raw('UPDATE conversations SET last_seq = 7 WHERE id = ?', [c1.id]), commits: true });
          await tx.run(raw('UPDATE conversations SET last_seq = 8 WHERE id = ?', [c1.id]));
        }),
      ).rejects.toThrow(/after its transaction committed/);
      expect(await lastSeq(store, c1.id)).toBe(7);
    });

    it('inside a nested transaction commits nothing: the outer one still decides', async () => {
      const { store, conversations: [c1] } = await setup();
      const rec = recordQueries();
      try {
        await expect(
          store.runner.transaction(async (tx) => {
            await tx.transaction((inner) => inner.run({ ...raw('UPDATE conversations SET last_seq = 9 WHERE id = ?', [c1.id]), commits: true }));
            throw new Error('the outer transaction fails');
          }),
        ).rejects.toThrow('the outer transaction fails');
      } finally {
        rec.stop();
      }
      expect(rec.committing.every((c) => !c)).toBe(true);
      expect(await lastSeq(store, c1.id)).toBe(0);
    });
  });

  it('the writes run as a prepared statement, the same one for any batch; PG_PREPARED_STATEMENTS=off sends them unnamed', async () => {
    for (const [preparedStatements, oneTrip] of [[true, true], [false, true], [true, false], [false, false]]) {
      const { store, a, b, conversations: [c1, c2], msg } = await setup(preparedStatements, oneTrip);
      const rec = recordQueries();
      try {
        await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id)]);
        await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id), msg(c1.id, b.id), msg(c2.id, a.id), msg(c1.id, a.id)]);
      } finally {
        rec.stop();
      }
      // A pipeline's steps, or the statement itself.
      const sent = rec.texts.flatMap((t, i) => rec.steps[i] ?? [{ text: t, name: rec.names[i] }]);
      const writes = sent.filter((x) => /INSERT INTO messages/.test(x.text));
      expect(writes).toHaveLength(2);
      // Two batches of other sizes: one text.
      expect(writes[1].text).toBe(writes[0].text);
      if (preparedStatements) expect(writes[1].name).toMatch(/^parley_\d+$/);
      else expect(writes.map((w) => w.name)).toEqual([undefined, undefined]);
      expect((await store.messagesBySeq(c1.id, 1, 10)).map((m) => m.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4]);
    }
  });

  it('PG_PREPARED_STATEMENTS: on unless set off, false or 0', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-pgprep-'));
    try {
      const env = { DATABASE_URL: 'sqlite::memory:', JWT_SECRET: 'x'.repeat(48), DATA_DIR: dir };
      const on = (v: string | undefined) => loadConfig(v === undefined ? env : { ...env, PG_PREPARED_STATEMENTS: v }).postgres.preparedStatements;
      expect([undefined, 'on', 'true', '1'].map(on)).toEqual([true, true, true, true]);
      expect(['off', 'OFF ', 'false', '0'].map(on)).toEqual([false, false, false, false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a batch with a reply stores its messages first (the reply counts need them), then the rest, after the locks', async () => {
    const { store, a, b, conversations: [c1], msg } = await setup();
    const [root] = await store.appendMessages([msg(c1.id, a.id)]);
    const rootId = 'message' in root ? root.message.id : 0;
    const rec = recordQueries();
    try {
      const out = await store.appendMessages([msg(c1.id, b.id, { replyToId: rootId }), msg(c1.id, a.id)]);
      expect(out.every((o) => 'message' in o)).toBe(true);
    } finally {
      rec.stop();
    }
    expect(rec.texts.filter((t) => /INSERT INTO messages/.test(t))).toHaveLength(1);
    expect(rec.texts.find((t) => /INSERT INTO messages/.test(t))).toMatch(/RETURNING id, uuid$/);
    expect(rec.texts.find((t) => /INSERT INTO messages/.test(t))).not.toMatch(/INSERT INTO message_search/);
    const [again] = await store.messagesBySeq(c1.id, 1, 1);
    expect(again.replyCount).toBe(1);
  });

  it('a transaction whose first statement has parameters still begins first, and a failure rolls all of it back', async () => {
    const { store, conversations: [c1] } = await setup();
    const rec = recordQueries();
    try {
      await expect(
        store.runner.transaction(async (tx) => {
          await tx.run(raw('UPDATE conversations SET last_seq = last_seq + 100 WHERE id = ?', [c1.id]));
          await tx.run(raw('SELECT 1/0', []));
        }),
      ).rejects.toThrow();
    } finally {
      rec.stop();
    }
    expect(rec.texts[0]).toBe('BEGIN');
    const [{ last_seq }] = await store.runner.all<{ last_seq: number }>(raw('SELECT last_seq FROM conversations WHERE id = ?', [c1.id]));
    expect(Number(last_seq)).toBe(0);
  });

  it('a lock wait given up leaves its statements prepared on the connection: the next append on it binds them', async () => {
    // One connection, so the second append runs where the first gave up. Its conversations'
    // lock was parsed (ParseComplete) before the wait failed; the participants' one never was
    // (PostgreSQL skipped it): parsed again, a name would fail with 42P05, never parsed, 26000.
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url, { poolSize: 1 });
    cleanup.push(async () => (await store.close(), await db.drop()));
    const { a, b, conversations: [c1, c2], msg } = await storeScene(store, ['direct', 'group']);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [c1.id]);
      const first = await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id)], { waitMs: 50 });
      expect(first.map((o) => ('deferred' in o ? 'deferred' : 'stored'))).toEqual(['deferred', 'stored']);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    for (let i = 0; i < 3; i++) expect((await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id)])).every((o) => 'message' in o)).toBe(true);
    const seqs = async (id: number) => (await store.messagesBySeq(id, 1, 10)).map((m) => m.seq).sort((x, y) => x - y);
    expect(await seqs(c1.id)).toEqual([1, 2, 3]);
    expect(await seqs(c2.id)).toEqual([1, 2, 3, 4]);
  });

  it('a lock wait that gives up inside the first round trip rolls back to its savepoint and commits the rest', async () => {
    const { store, a, b, conversations: [c1, c2], msg } = await setup();
    // Another session holds c1's row: the append takes c2 and defers c1.
    const holder = await store.runner.transaction(async (tx) => {
      await tx.all(raw('SELECT id FROM conversations WHERE id = ? FOR UPDATE', [c1.id]));
      const out = await store.appendMessages([msg(c1.id, a.id), msg(c2.id, b.id)], { waitMs: 50 });
      return out;
    });
    expect('deferred' in holder[0]).toBe(true);
    expect('message' in holder[1]).toBe(true);
    expect((await store.messagesBySeq(c2.id, 1, 10)).length).toBe(1);
  });
});
