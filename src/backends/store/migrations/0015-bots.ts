import { type Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Issue 19, bots and server-to-server:
 * - `users.is_bot` (0 | 1): a bot is a user of its tenant that posts and reacts like anyone,
 *   shown as a bot; it has no password and signs in only through an API key.
 * - `api_keys`: per tenant, each acting as its bot user, scoped (`read`, `write`, `admin`),
 *   stored as the SHA-256 digest of the secret (shown once), revocable, with its last use.
 * - `incoming_webhooks`: a secret URL per conversation that posts as the hook's bot.
 * - `metadata` (JSON text, null when none) on messages and conversations, for integrations.
 */
export const bots: VersionedMigration = {
  name: '0015-bots',
  async up(db: Kysely<any>, dialect) {
    const { withId: pk, big } = columnTypes(dialect);
    await db.schema.alterTable('users').addColumn('is_bot', 'integer', (c: any) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('messages').addColumn('metadata', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('metadata', 'text').execute();

    await pk(db.schema.createTable('api_keys'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('tenant_id', big, (c: any) => c.notNull().references('tenants.id'))
      .addColumn('bot_user_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
      .addColumn('scopes', 'varchar(64)', (c: any) => c.notNull())
      .addColumn('secret_hash', 'varchar(64)', (c: any) => c.notNull().unique())
      .addColumn('created_by', big, (c: any) => c.references('users.id'))
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addColumn('last_used_at', big)
      .addColumn('revoked_at', big)
      .execute();

    await pk(db.schema.createTable('incoming_webhooks'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('tenant_id', big, (c: any) => c.notNull().references('tenants.id'))
      .addColumn('conversation_id', big, (c: any) => c.notNull().references('conversations.id'))
      .addColumn('bot_user_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
      .addColumn('secret_hash', 'varchar(64)', (c: any) => c.notNull())
      .addColumn('created_by', big, (c: any) => c.references('users.id'))
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addColumn('revoked_at', big)
      .execute();
    await createIndexes(db, [
      { name: 'api_keys_tenant', on: 'api_keys', columns: ['tenant_id', 'id'] },
      { name: 'incoming_webhooks_conversation', on: 'incoming_webhooks', columns: ['conversation_id', 'id'] },
    ]);
  },
};
