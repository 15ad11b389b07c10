import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Retention and legal hold (issue 20):
 * - conversations.retention_days: "keep N days" for one conversation (null: the tenant's);
 *   conversations.purged_before_seq: every message with a smaller seq was purged (1: none),
 *   read with the conversation, so a resume and a history page see it in their snapshot.
 * - the tenant's own "keep N days" is tenant_settings.retention_days (migration 0021).
 * - legal_holds: a conversation or a user whose messages are never purged while held.
 * - job_leases: one row per background job; the process whose lease runs runs the job.
 */
export const retention: VersionedMigration = {
  name: '0024-retention',
  async up(db: Kysely<any>, dialect) {
    const { big, required } = columnTypes(dialect);
    await db.schema.alterTable('conversations').addColumn('retention_days', 'integer').execute();
    await db.schema.alterTable('conversations').addColumn('purged_before_seq', big, (c: any) => c.notNull().defaultTo(1)).execute();
    await required(db.schema.createTable('legal_holds'), [['tenant_id', 'tenants.id']])
      .addColumn('target_type', 'varchar(16)', (c: any) => c.notNull())
      .addColumn('target_id', big, (c: any) => c.notNull())
      .addColumn('created_by', big, (c: any) => c.references('users.id'))
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addPrimaryKeyConstraint('legal_holds_pk', ['target_type', 'target_id'])
      .execute();
    await db.schema
      .createTable('job_leases')
      .addColumn('name', 'varchar(64)', (c: any) => c.notNull().primaryKey())
      .addColumn('holder', 'varchar(64)', (c: any) => c.notNull())
      .addColumn('lease_until', big, (c: any) => c.notNull())
      .execute();
  },
};
