import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { storeScene } from '../helpers/store-scene.js';

// The append's statements take their rows as one JSON parameter, which PostgreSQL's planner
// counts as 100 rows: without being told the real count it hash-joined the whole messages
// table for the retry lookup (1.4 ms a batch at 20k messages, growing with the table) instead
// of probing its unique index once per send. Read off the plans PostgreSQL makes for the
// statements an append really sent, on a table of 30k messages.

describe.skipIf(!hasPostgres)('PostgreSQL plans of the append', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  it('the retry lookup probes the messages index, not a scan of the table', async () => {
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url, { poolSize: 4 });
    cleanup.push(async () => (await store.close(), await db.drop()));
    const { a, b, conversations: [c1], msg } = await storeScene(store, ['group']);
    await store.runner.run(
      raw(
        `INSERT INTO messages (uuid, conversation_id, seq, change_seq, sender_id, kind, content, client_id, created_at, reply_count, unchanged)
         SELECT gen_random_uuid()::text, ?, g, g, ?, 'text', 'x', 'old' || g, 1, 0, 1 FROM generate_series(1, 30000) g`,
        [c1.id, a.id],
      ),
    );
    await store.runner.run(raw('UPDATE conversations SET last_seq = 30000, change_seq = 30000 WHERE id = ?', [c1.id]));
    // Not analyzed since: the table grew after PostgreSQL last counted it (autovacuum's
    // ANALYZE comes a minute or more later), as in any busy hour.

    // The lookup runs first only after a retry turned up lately (SqlAppend.retryLookupWindowMs).
    store.append.retryLookupWindowMs = Infinity;
    const sent: { text: string; values: unknown[] }[] = [];
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const [q, values] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
      if (typeof q === 'string') sent.push({ text: q, values: values ?? [] });
      else sent.push({ text: q.text, values: q.values ?? [] });
      return query.apply(this, args);
    };
    try {
      const out = await store.appendMessages(Array.from({ length: 40 }, (_, i) => msg(c1.id, i % 2 ? a.id : b.id)));
      expect(out.every((o) => 'message' in o)).toBe(true);
    } finally {
      proto.query = query;
    }
    const lookup = sent.find((s) => /JOIN messages m ON m.sender_id/.test(s.text))!;
    expect(lookup).toBeDefined();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${lookup.text}`, lookup.values);
      const plan = JSON.stringify(rows[0]['QUERY PLAN']);
      expect(plan).toContain('messages_sender_conversation_client');
      expect(plan).not.toContain('Hash Join');
    } finally {
      await client.end();
    }
  });

  it("the append's lock on its senders' participant rows is a join on their keys, not an OR of every pair", async () => {
    // A list of row values, (a, b) IN ((1, 2), …), is planned as one OR of every pair:
    // 0.56 ms to plan 48 of them, then each test on every row read. VALUES is joined.
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url, { poolSize: 4 });
    cleanup.push(async () => (await store.close(), await db.drop()));
    const { a, b, conversations, msg } = await storeScene(store, Array.from({ length: 12 }, () => 'group' as const));
    const sent: string[] = [];
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const q = args[0] as string | { text: string };
      sent.push(typeof q === 'string' ? q : q.text);
      return query.apply(this, args);
    };
    try {
      const out = await store.appendMessages(conversations.flatMap((c) => [msg(c.id, a.id), msg(c.id, b.id)]));
      expect(out.every((o) => 'message' in o)).toBe(true);
    } finally {
      proto.query = query;
    }
    const lock = sent.flatMap((t) => t.split('; ')).find((t) => t.startsWith('SELECT 1 FROM participants'));
    expect(lock).toBeDefined();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${lock}`);
      const plan = JSON.stringify(rows[0]['QUERY PLAN']);
      expect(plan).toContain('Values Scan');
      expect(plan).not.toMatch(/ OR /);
    } finally {
      await client.end();
    }
  });
});
