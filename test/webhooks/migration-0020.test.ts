import { rmSync } from 'node:fs';
import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/backends/store/create-store.js';
import { migrationProvider } from '../../src/backends/store/migrations/index.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { databases, emptyDatabase } from '../helpers/pg.js';

// Migration 0020 renumbers the events log from per-tenant counters to one sequence: each old
// event keeps its uuid, the deliveries and the endpoints' places in the log follow it, and the
// sequence goes on above the renumbered rows.
describe.each(databases)('migration 0020 on a log numbered per tenant (%s)', (dialect) => {
  it('renumbers in (tenant, seq) order; deliveries and fanned_seq follow their events; new events come after', async () => {
    const data = await emptyDatabase(dialect, 'events0020');
    const store = createStore(data.databaseUrl) as SqlStore;
    try {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
      expect((await migrator.migrateTo('0018-email-digest')).error).toBeUndefined();
      const [t1, t2] = [await store.ensureTenant('t-one', 'One'), await store.ensureTenant('t-two', 'Two')];
      // Tenant two's events were written first: the old seqs are per tenant, 1… each.
      const old = [
        [t2.id, 1, 'evt_b1'],
        [t2.id, 2, 'evt_b2'],
        [t1.id, 1, 'evt_a1'],
        [t1.id, 2, 'evt_a2'],
        [t1.id, 3, 'evt_a3'],
      ] as const;
      for (const [tenant, seq, uuid] of old) {
        await sql`INSERT INTO events (tenant_id, seq, uuid, type, conversation_id, created_at, payload) VALUES (${tenant}, ${seq}, ${uuid}, 'message.created', 7, 1, '{}')`.execute(store.db);
      }
      await sql`INSERT INTO event_counters (tenant_id, last_seq) VALUES (${t1.id}, 3), (${t2.id}, 2)`.execute(store.db);
      for (const [tenant, fanned] of [[t1.id, 2], [t2.id, 2]]) {
        await sql`INSERT INTO webhook_endpoints (uuid, tenant_id, url, secret, event_types, fanned_seq, created_by, created_at, updated_at)
          VALUES (${'we_' + tenant}, ${tenant}, 'https://example.com', 'whsec_x', '[]', ${fanned}, 1, 1, 1)`.execute(store.db);
      }
      const endpoints = new Map((await sql<{ id: number; tenant_id: number }>`SELECT id, tenant_id FROM webhook_endpoints`.execute(store.db)).rows.map((r) => [Number(r.tenant_id), Number(r.id)]));
      // Deliveries of old seqs 1 and 2 of both tenants (the same numbers, other events).
      for (const [tenant, seq] of [[t1.id, 1], [t1.id, 2], [t2.id, 1], [t2.id, 2]]) {
        await sql`INSERT INTO webhook_deliveries (endpoint_id, tenant_id, event_seq, conversation_id, next_attempt_at, created_at) VALUES (${endpoints.get(tenant)}, ${tenant}, ${seq}, 7, 1, 1)`.execute(store.db);
      }

      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const events = (await sql<{ seq: number; uuid: string }>`SELECT seq, uuid FROM events ORDER BY seq`.execute(store.db)).rows.map((r) => [Number(r.seq), r.uuid]);
      const [a1, a2, a3, b1, b2] = [1, 2, 3, 4, 5];
      expect(events).toEqual([[a1, 'evt_a1'], [a2, 'evt_a2'], [a3, 'evt_a3'], [b1, 'evt_b1'], [b2, 'evt_b2']]);
      const deliveries = (await sql<{ tenant_id: number; event_seq: number }>`SELECT tenant_id, event_seq FROM webhook_deliveries ORDER BY event_seq`.execute(store.db)).rows;
      expect(deliveries.map((d) => [Number(d.tenant_id), Number(d.event_seq)])).toEqual([[t1.id, a1], [t1.id, a2], [t2.id, b1], [t2.id, b2]]);
      const fanned = (await sql<{ tenant_id: number; fanned_seq: number }>`SELECT tenant_id, fanned_seq FROM webhook_endpoints ORDER BY tenant_id`.execute(store.db)).rows;
      expect(new Map(fanned.map((r) => [Number(r.tenant_id), Number(r.fanned_seq)]))).toEqual(new Map([[t1.id, a2], [t2.id, b2]]));
      // A new event draws above them.
      await sql`INSERT INTO events (tenant_id, uuid, type, conversation_id, created_at, payload) VALUES (${t1.id}, 'evt_new', 'message.created', 7, 2, '{}')`.execute(store.db);
      expect((await store.eventsAfter(t1.id, a3, 10)).map((e) => [e.seq, e.uuid])).toEqual([[6, 'evt_new']]);
    } finally {
      await store.close();
      await data.dropDb?.();
      rmSync(data.dir, { recursive: true, force: true });
    }
  });
});
