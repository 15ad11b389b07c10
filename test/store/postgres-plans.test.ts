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

  it("the append's locks and its writes are prepared once and probe the keys, whatever the batch: the generic plans at 60k participants", async () => {
    // A list of row values, (a, b) IN ((1, 2), …), is planned as one OR of every pair:
    // 0.56 ms to plan 48 of them, then each test on every row read. The locks take their keys
    // as arrays, so their texts are the same for any batch and each connection plans them once;
    // PostgreSQL then settles on a generic plan, which must still probe the keys' indexes.
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url, { poolSize: 4 });
    cleanup.push(async () => (await store.close(), await db.drop()));
    const { a, b, conversations, msg } = await storeScene(store, Array.from({ length: 12 }, () => 'group' as const));
    // Many memberships, as a real deployment has: a scan of them would show.
    await store.runner.run(raw(`INSERT INTO users (uuid, tenant_id, email, name, created_at, updated_at) SELECT 'bulk-' || g, tenant_id, 'bulk-' || g || '@example.test', 'u', 0, 0 FROM users, generate_series(1, 60) g WHERE users.id = ?`, [a.id]));
    await store.runner.run(raw(`INSERT INTO conversations (uuid, tenant_id, kind, created_at, updated_at) SELECT 'bulk-' || g, tenant_id, 'group', 0, 0 FROM conversations, generate_series(1, 1000) g WHERE conversations.id = ?`, [conversations[0].id]));
    await store.runner.run(raw(`INSERT INTO participants (conversation_id, user_id, role, joined_at) SELECT c.id, u.id, 'member', 0 FROM conversations c, users u WHERE c.uuid LIKE 'bulk-%' AND u.uuid LIKE 'bulk-%'`, []));
    // And conversations enough that reading them all costs more than probing a batch's (at a
    // thousand, a scan is the cheaper plan, and PostgreSQL rightly takes it).
    await store.runner.run(raw(`INSERT INTO conversations (uuid, tenant_id, kind, created_at, updated_at) SELECT 'spare-' || g, tenant_id, 'group', 0, 0 FROM conversations, generate_series(1, 30000) g WHERE conversations.id = ?`, [conversations[0].id]));
    await store.runner.run(raw('ANALYZE', []));
    const sent: { text: string; name?: string; values: readonly unknown[] }[] = [];
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const steps = (args[0] as { steps?: { text: string; name?: string; values: readonly unknown[] }[] }).steps;
      if (steps) sent.push(...steps);
      return query.apply(this, args);
    };
    try {
      // Two batches of other sizes.
      for (const cs of [conversations, conversations.slice(0, 5)]) {
        const out = await store.appendMessages(cs.flatMap((c) => [msg(c.id, a.id), msg(c.id, b.id)]));
        expect(out.every((o) => 'message' in o)).toBe(true);
      }
    } finally {
      proto.query = query;
    }
    const locks = sent.filter((s) => /FOR UPDATE/.test(s.text));
    // Conversations, then participants, per batch: the same two texts, named.
    expect(locks).toHaveLength(4);
    expect(locks[2].text).toBe(locks[0].text);
    expect(locks[3].text).toBe(locks[1].text);
    expect(locks.every((l) => /^parley_\d+$/.test(l.name ?? ''))).toBe(true);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      const plans: string[] = [];
      // The locks, then the writes that go in their round trip (SqlAppend's one trip).
      const writes = sent.filter((s) => s.text.startsWith('WITH vm AS'));
      expect(writes).toHaveLength(2);
      expect(writes[1].text).toBe(writes[0].text);
      expect(writes.every((w) => /^parley_\d+$/.test(w.name ?? ''))).toBe(true);
      for (const [i, statement] of [...locks.slice(0, 2), writes[0]].entries()) {
        await client.query(`PREPARE step${i} AS ${statement.text}`);
        const args = statement.values.map((v) => (typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`)).join(', ');
        const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE step${i}(${args})`);
        plans.push(JSON.stringify(rows[0]['QUERY PLAN']));
      }
      await client.query('ROLLBACK');
      // Every write probes its rows by key: no scan of the big tables, whatever the batch.
      const scanned = [...plans[2].matchAll(/"Node Type":"Seq Scan"[^{}]*?"Relation Name":"(\w+)"/g)].map((m) => m[1]);
      expect(scanned.filter((t) => ['conversations', 'participants', 'messages', 'users'].includes(t))).toEqual([]);
      expect(plans[2]).toContain('conversations_pkey');
      expect(plans[2]).toMatch(/"Index Name":"participants_(pk|user)"/);
      plans.pop();
      expect(plans[0]).toContain('conversations_pkey');
      // Either key index probes both columns (participants_user is (user_id, conversation_id)).
      expect(plans[1]).toMatch(/"Node Type":"Index (Only )?Scan"[^}]*"Index Name":"participants_(pk|user)"/);
      expect(plans[1]).not.toMatch(/ OR /);
      for (const plan of plans) expect(plan).not.toContain('Seq Scan');
    } finally {
      await client.end();
    }
  });
});
