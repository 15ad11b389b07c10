import { sql, type Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Issue 14 items 3 and 13:
 * - `users.tenant_role` (`admin` | `member`): a tenant's admin creates its invites. The first
 *   user of each existing tenant becomes its admin, as the first user of a new tenant does.
 * - E-mail uniqueness per tenant applies to local accounts only: a local registration of
 *   bob@acme.com must not block the identity provider's Bob (matched by subject, never by
 *   e-mail) on his first login.
 * - `invites`: single-use, expiring codes into one tenant, stored as SHA-256 digests.
 */
export const accounts: VersionedMigration = {
  name: '0004-accounts',
  async up(db: Kysely<any>, dialect) {
    const { withId: pk, big } = columnTypes(dialect);

    await db.schema.alterTable('users').addColumn('tenant_role', 'varchar(16)', (c: any) => c.notNull().defaultTo('member')).execute();
    await sql`UPDATE users SET tenant_role = 'admin' WHERE id IN (SELECT MIN(id) FROM users GROUP BY tenant_id)`.execute(db);

    await db.schema.dropIndex('users_tenant_email').execute();
    await createIndexes(db, [{ name: 'users_tenant_email', on: 'users', columns: ['tenant_id', 'email'], unique: true, where: ['external_subject', 'is'] }]);

    await pk(db.schema.createTable('invites'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('tenant_id', big, (c: any) => c.notNull().references('tenants.id'))
      .addColumn('code_hash', 'varchar(64)', (c: any) => c.notNull().unique())
      .addColumn('email', 'varchar(320)')
      .addColumn('created_by', big, (c: any) => c.references('users.id'))
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addColumn('expires_at', big, (c: any) => c.notNull())
      .addColumn('used_at', big)
      .addColumn('used_by', big, (c: any) => c.references('users.id'))
      .addColumn('revoked_at', big)
      .execute();
    await createIndexes(db, [{ name: 'invites_tenant', on: 'invites', columns: ['tenant_id', 'created_at'] }]);
  },
};
