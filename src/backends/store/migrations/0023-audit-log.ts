import type { Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * The audit log (issue 20): each tenant's administrative and moderation actions, numbered per
 * tenant (`seq`, gapless) and chained by hash (docs/audit.md). `audit_heads` holds each
 * tenant's last seq and hash: an append takes its row's lock, so a tenant's appends are
 * serialized on every process, and a removed last entry is still seen as missing.
 */
export const auditLog: VersionedMigration = {
  name: '0023-audit-log',
  async up(db: Kysely<any>, dialect) {
    const { big, withId, required } = columnTypes(dialect);
    await required(db.schema.createTable('audit_heads'), [['tenant_id', 'tenants.id'], ['last_seq']])
      .addColumn('last_hash', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_heads_pk', ['tenant_id'])
      .execute();
    await required(withId(db.schema.createTable('audit_log')), [['tenant_id', 'tenants.id'], ['seq'], ['at']])
      .addColumn('actor_id', big)
      .addColumn('action', 'varchar(64)', (c) => c.notNull())
      .addColumn('target_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('target_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('origin', 'varchar(128)')
      // JSON text exactly as hashed; null when none.
      .addColumn('details', 'text')
      .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('hash', 'varchar(64)', (c) => c.notNull())
      .execute();
    await createIndexes(db, [
      { name: 'audit_log_tenant_seq', on: 'audit_log', columns: ['tenant_id', 'seq'], unique: true },
      { name: 'audit_log_actor', on: 'audit_log', columns: ['tenant_id', 'actor_id', 'seq'] },
      { name: 'audit_log_target', on: 'audit_log', columns: ['tenant_id', 'target_type', 'target_id', 'seq'] },
    ]);
  },
};
