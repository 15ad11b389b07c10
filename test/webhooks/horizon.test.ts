import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { fixtures } from '../contract/store.contract.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';

// Issue 19: the log's seqs are drawn at insert, so they can commit out of order; a reader by
// cursor must never pass an event that commits later with a smaller seq. Only PostgreSQL runs
// two writers at once (SQLite has one: commit order is seq order).
describe.skipIf(!hasPostgres)('the events log read while a smaller seq is still to commit (PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let store: SqlStore;
  let held: pg.Client;
  const f = fixtures(() => store);

  beforeAll(async () => {
    db = await newPostgresDatabase();
    store = createPostgresStore(db.url);
    await store.migrate();
    held = new pg.Client({ connectionString: db.url });
    await held.connect();
  });
  afterAll(async () => {
    await held?.end();
    await store?.close();
    await db?.drop();
  });

  it('stops below the open transaction, then gives both events in seq order once it commits', async () => {
    const t = await f.tenant();
    const [a, b] = await f.users(t, 2);
    const c = await f.conversation(t, 'group', [a, b]);
    const before = await store.eventsAfter(t.id, 0, 100);
    const from = before.at(-1)!.seq;

    // A transaction draws a seq and stays open (a process stopped inside its commit)…
    await held.query('BEGIN');
    const small = await held.query(
      "INSERT INTO events (tenant_id, uuid, type, conversation_id, created_at, payload) VALUES ($1, 'evt_held', 'conversation.updated', $2, 0, $3) RETURNING seq",
      [t.id, c.id, JSON.stringify({ conversation: { id: c.id } })],
    );
    // …while another commits a larger one: the send is not held by the open transaction.
    const sent = await f.send(c, a);
    expect(await store.eventsAfter(t.id, from, 100)).toEqual([]);

    await held.query('COMMIT');
    const events = await store.eventsAfter(t.id, from, 100);
    expect(events.map((e) => e.uuid)).toEqual(['evt_held', events[1].uuid]);
    expect(events[0].seq).toBe(Number(small.rows[0].seq));
    expect(events[1]).toMatchObject({ type: 'message.created', payload: { message: { id: sent.id } } });
    expect(events[0].seq).toBeLessThan(events[1].seq);
    // Read again from the first: the same seq and id.
    expect((await store.eventsAfter(t.id, events[0].seq, 100)).map((e) => [e.seq, e.uuid])).toEqual([[events[1].seq, events[1].uuid]]);
  });
});
