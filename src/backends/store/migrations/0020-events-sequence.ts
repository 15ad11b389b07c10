import { sql, type Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Issue 19: the events log numbered without a hot row. 0014 numbered each tenant's events from
 * a counter row held to the commit: a process stopped inside a commit held every other
 * process's sends of the tenant. Now `seq` is one sequence for the whole log, drawn at insert
 * (SQLite: the autoincrement key; PostgreSQL: `events_next_seq()`, which gives the transaction
 * its id before it draws, so the readers' committed bound — sql/webhooks.ts, adapter.eventsHorizon — holds).
 * The old rows are renumbered in their (tenant, seq) order and the deliveries and endpoints'
 * places in the log follow them; `event_counters` goes.
 */
export const eventsSequence: VersionedMigration = {
  name: '0020-events-sequence',
  async up(db: Kysely<any>, dialect) {
    const { required } = columnTypes(dialect);
    await sql`ALTER TABLE events RENAME TO events_0014`.execute(db);
    let table = db.schema.createTable('events');
    if (dialect === 'postgres') {
      await sql`CREATE SEQUENCE events_seq`.execute(db);
      await sql`CREATE FUNCTION events_next_seq() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_current_xact_id(); RETURN nextval('events_seq'); END $$`.execute(db);
      table = table.addColumn('seq', 'bigint', (c) => c.primaryKey().defaultTo(sql`events_next_seq()`));
    } else {
      table = table.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
    }
    await required(table, [['tenant_id', 'tenants.id'], ['conversation_id'], ['created_at']])
      .addColumn('uuid', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('type', 'varchar(64)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .execute();
    await sql`INSERT INTO events (tenant_id, uuid, type, conversation_id, created_at, payload)
      SELECT tenant_id, uuid, type, conversation_id, created_at, payload FROM events_0014 ORDER BY tenant_id, seq`.execute(db);
    // Negated first: the renumbered seqs would collide with old ones under the unique (endpoint, event).
    await sql`UPDATE webhook_deliveries SET event_seq = -event_seq`.execute(db);
    await sql`UPDATE webhook_deliveries SET event_seq = (SELECT n.seq FROM events_0014 o JOIN events n ON n.uuid = o.uuid
      WHERE o.tenant_id = webhook_deliveries.tenant_id AND o.seq = -webhook_deliveries.event_seq)`.execute(db);
    await sql`UPDATE webhook_endpoints SET fanned_seq = COALESCE((SELECT MAX(n.seq) FROM events_0014 o JOIN events n ON n.uuid = o.uuid
      WHERE o.tenant_id = webhook_endpoints.tenant_id AND o.seq <= webhook_endpoints.fanned_seq), 0)`.execute(db);
    await db.schema.dropTable('events_0014').execute();
    await db.schema.dropTable('event_counters').execute();
    await createIndexes(db, [
      // A tenant's log by cursor (the events API, the fan-out).
      { name: 'events_tenant_seq', on: 'events', columns: ['tenant_id', 'seq'] },
      // The prune: what is still to deliver, and what was delivered long ago.
      { name: 'webhook_deliveries_undelivered', on: 'webhook_deliveries', columns: ['event_seq'], where: ['delivered_at', 'is'] },
      { name: 'webhook_deliveries_delivered', on: 'webhook_deliveries', columns: ['delivered_at'], where: ['delivered_at', 'is not'] },
    ]);
  },
};
