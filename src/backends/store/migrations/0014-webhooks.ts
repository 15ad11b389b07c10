import type { Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Issue 19, webhooks from a transactional outbox: the events log (written in the transaction
 * of each change, numbered per tenant by `event_counters`: the counter row is taken last and
 * held to the commit, so a tenant's events commit in cursor order and a reader paging by
 * cursor never skips one committed late), the endpoints a tenant's admins register, and one
 * delivery row per (endpoint, event) the dispatcher fans out, retries and leases.
 */
export const webhooks: VersionedMigration = {
  name: '0014-webhooks',
  async up(db: Kysely<any>, dialect) {
    const { big, withId, required } = columnTypes(dialect);
    await required(db.schema.createTable('event_counters'), [['tenant_id', 'tenants.id'], ['last_seq']])
      .addPrimaryKeyConstraint('event_counters_pk', ['tenant_id'])
      .execute();
    await required(db.schema.createTable('events'), [['tenant_id', 'tenants.id'], ['seq'], ['conversation_id'], ['created_at']])
      .addColumn('uuid', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('type', 'varchar(64)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('events_pk', ['tenant_id', 'seq'])
      .execute();
    await required(withId(db.schema.createTable('webhook_endpoints')), [['tenant_id', 'tenants.id'], ['created_by'], ['created_at'], ['updated_at']])
      .addColumn('uuid', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      // A JSON array of event types; [] is every type.
      .addColumn('event_types', 'text', (c) => c.notNull())
      .addColumn('conversation_id', big)
      .addColumn('mention_user_id', big)
      .addColumn('description', 'text')
      // Null while enabled; 'admin' or 'failing' when disabled.
      .addColumn('disabled_reason', 'varchar(16)')
      .addColumn('disabled_at', big)
      // The last event seq fanned out into deliveries: re-enabled, it resumes from here.
      .addColumn('fanned_seq', big, (c) => c.notNull().defaultTo(0))
      .addColumn('last_success_at', big)
      .addColumn('last_failure_at', big)
      .addColumn('failing_since', big)
      .addColumn('last_error', 'text')
      .addColumn('deleted_at', big)
      .execute();
    await required(withId(db.schema.createTable('webhook_deliveries')), [['endpoint_id', 'webhook_endpoints.id'], ['tenant_id'], ['event_seq'], ['conversation_id'], ['next_attempt_at'], ['created_at']])
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('lease_until', big)
      .addColumn('delivered_at', big)
      .addColumn('last_error', 'text')
      .execute();
    await createIndexes(db, [
      { name: 'webhook_endpoints_tenant', on: 'webhook_endpoints', columns: ['tenant_id', 'id'] },
      { name: 'webhook_deliveries_endpoint_event', on: 'webhook_deliveries', columns: ['endpoint_id', 'event_seq'], unique: true },
      // The head of each (endpoint, conversation) queue: what is not delivered yet, in order.
      { name: 'webhook_deliveries_queue', on: 'webhook_deliveries', columns: ['endpoint_id', 'conversation_id', 'event_seq'], where: ['delivered_at', 'is'] },
      { name: 'webhook_deliveries_due', on: 'webhook_deliveries', columns: ['next_attempt_at'], where: ['delivered_at', 'is'] },
    ]);
  },
};
