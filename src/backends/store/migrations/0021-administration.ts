import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Administration (issue 20): a user's suspension (when and why; a suspended user's tokens and
 * API keys are refused), whether they are a server operator (over every tenant), when their
 * account was erased; a conversation's archiving (read-only); and the settings a tenant's
 * admins choose (`tenant_settings`, one row per tenant, every column null = the process's
 * configuration). `retention_days` is read by the retention job.
 */
export const administration: VersionedMigration = {
  name: '0021-administration',
  async up(db: Kysely<any>, dialect) {
    const { big } = columnTypes(dialect);
    await db.schema.alterTable('users').addColumn('suspended_at', big).execute();
    await db.schema.alterTable('users').addColumn('suspension_reason', 'varchar(500)').execute();
    await db.schema.alterTable('users').addColumn('is_operator', 'integer', (c: any) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('users').addColumn('erased_at', big).execute();
    await db.schema.alterTable('conversations').addColumn('archived_at', big).execute();
    await db.schema
      .createTable('tenant_settings')
      .addColumn('tenant_id', big, (c: any) => c.notNull().primaryKey().references('tenants.id'))
      .addColumn('registration', 'varchar(32)')
      .addColumn('max_upload_bytes', big)
      .addColumn('retention_days', 'integer')
      // A JSON array of origins, added to the process's ALLOWED_ORIGINS for this tenant's sockets.
      .addColumn('allowed_origins', 'text')
      .addColumn('updated_at', big, (c: any) => c.notNull())
      .execute();
    // The admin's user list pages by id within a tenant.
    await db.schema.createIndex('users_tenant_id_id').on('users').columns(['tenant_id', 'id']).execute();
  },
};
