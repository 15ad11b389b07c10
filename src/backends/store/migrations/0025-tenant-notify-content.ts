import type { Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * Issue 19, content-free mode per tenant: `tenants.notify_content` is `full` or `none` (pushes
 * and e-mails say "New message" and no more), or null: the process default, NOTIFY_CONTENT.
 */
export const tenantNotifyContent: VersionedMigration = {
  name: '0025-tenant-notify-content',
  async up(db: Kysely<any>) {
    await db.schema.alterTable('tenants').addColumn('notify_content', 'text').execute();
  },
};
