import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { unreadStatesSql } from '../../src/backends/store/sql/unread.js';
import { sqlStoreOf, useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';

// Issue 18: the room list stays flat however long its conversations are. The unread state
// reads the participant's row, the deleted messages and thread replies above their place
// (their own index, messages_uncounted_seq), the reader's own hides and one index probe for the first unread: never a scan of a conversation's messages. Checked on
// the database's own plan (on PostgreSQL with sequential scans priced out, as a big table
// would price them).
describe.each(databases)('the unread state query plan on %s', (db) => {
  const server = useParley({ db });

  it('reads messages only through messages_uncounted_seq and messages_conversation_seq', async () => {
    const k = sqlStoreOf(server).db as unknown as Kysely<unknown>;
    let n = 0;
    const text = unreadStatesSql(3).replace(/\?/g, () => String(++n));
    let plan: string;
    if (db === 'sqlite') {
      plan = (await sql<{ detail: string }>`EXPLAIN QUERY PLAN ${sql.raw(text)}`.execute(k)).rows.map((r) => r.detail).join('\n');
      expect(plan).not.toMatch(/SCAN (d|f|h|hm)\b/);
    } else {
      plan = await k.transaction().execute(async (tx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(tx);
        return (await sql<{ 'QUERY PLAN': string }>`EXPLAIN ${sql.raw(text)}`.execute(tx)).rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).not.toMatch(/Seq Scan on messages|Bitmap Heap Scan on messages/);
    }
    expect(plan).toContain('messages_uncounted_seq');
    expect(plan).toContain('messages_conversation_seq');
  });
});
