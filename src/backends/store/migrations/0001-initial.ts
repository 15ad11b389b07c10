import type { Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/** The default tenant's uuid is fixed so every process and every test agrees on it. */
export const DEFAULT_TENANT_UUID = '00000000-0000-7000-8000-000000000001';

export const initial: VersionedMigration = {
  name: '0001-initial',
  async up(db: Kysely<any>, dialect) {
    const { withId: pk, big, required } = columnTypes(dialect);

    await pk(db.schema.createTable('tenants'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
      .addColumn('created_at', big, (c: any) => c.notNull())
      .execute();

    await pk(db.schema.createTable('users'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('tenant_id', big, (c: any) => c.notNull().references('tenants.id'))
      .addColumn('email', 'varchar(320)', (c: any) => c.notNull())
      .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
      .addColumn('avatar_url', 'text')
      .addColumn('password_hash', 'text')
      .addColumn('external_issuer', 'varchar(512)')
      .addColumn('external_subject', 'varchar(512)')
      .addColumn('token_version', 'integer', (c: any) => c.notNull().defaultTo(0))
      .addColumn('last_seen_at', big)
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addColumn('updated_at', big, (c: any) => c.notNull())
      .execute();
    await createIndexes(db, [
      { name: 'users_tenant_email', on: 'users', columns: ['tenant_id', 'email'], unique: true },
      { name: 'users_external', on: 'users', columns: ['tenant_id', 'external_issuer', 'external_subject'], unique: true, where: ['external_subject', 'is not'] },
    ]);

    await required(db.schema.createTable('friendships'), [['user_a', 'users.id'], ['user_b', 'users.id']])
      .addColumn('status', 'varchar(16)', (c: any) => c.notNull())
      .$call((t) => required(t, [['requested_by'], ['created_at'], ['updated_at']]))
      .addPrimaryKeyConstraint('friendships_pk', ['user_a', 'user_b'])
      .execute();
    await createIndexes(db, [{ name: 'friendships_user_b', on: 'friendships', columns: ['user_b'] }]);

    await pk(db.schema.createTable('conversations'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('tenant_id', big, (c: any) => c.notNull().references('tenants.id'))
      .addColumn('kind', 'varchar(16)', (c: any) => c.notNull())
      .addColumn('title', 'varchar(255)')
      .addColumn('created_by', big, (c: any) => c.references('users.id'))
      .addColumn('direct_key', 'varchar(64)')
      .addColumn('last_seq', big, (c: any) => c.notNull().defaultTo(0))
      .addColumn('change_seq', big, (c: any) => c.notNull().defaultTo(0))
      .addColumn('last_message_at', big)
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addColumn('updated_at', big, (c: any) => c.notNull())
      .addColumn('deleted_at', big)
      .execute();
    await createIndexes(db, [{ name: 'conversations_direct_key', on: 'conversations', columns: ['tenant_id', 'direct_key'], unique: true, where: ['direct_key', 'is not'] }]);

    await required(db.schema.createTable('participants'), [['conversation_id', 'conversations.id'], ['user_id', 'users.id']])
      .addColumn('role', 'varchar(16)', (c: any) => c.notNull())
      .$call((t) => required(t, [['joined_at']]))
      .addColumn('left_at', big)
      .addColumn('muted', 'integer', (c: any) => c.notNull().defaultTo(0))
      .addColumn('read_seq', big, (c: any) => c.notNull().defaultTo(0))
      .addColumn('delivered_seq', big, (c: any) => c.notNull().defaultTo(0))
      .addColumn('read_at', big)
      .addPrimaryKeyConstraint('participants_pk', ['conversation_id', 'user_id'])
      .execute();
    // The room list: a user's conversations without touching messages.
    await createIndexes(db, [{ name: 'participants_user', on: 'participants', columns: ['user_id', 'conversation_id'] }]);

    await pk(db.schema.createTable('messages'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('conversation_id', big, (c: any) => c.notNull().references('conversations.id'))
      .addColumn('seq', big, (c: any) => c.notNull())
      .addColumn('change_seq', big, (c: any) => c.notNull())
      .addColumn('sender_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('kind', 'varchar(16)', (c: any) => c.notNull())
      .addColumn('content', 'text')
      .addColumn('reply_to_id', big, (c: any) => c.references('messages.id'))
      .addColumn('reply_count', 'integer', (c: any) => c.notNull().defaultTo(0))
      .addColumn('client_id', 'varchar(255)')
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addColumn('edited_at', big)
      .addColumn('deleted_at', big)
      .execute();
    await createIndexes(db, [
      // History pages are seq ranges on this index; never OFFSET.
      { name: 'messages_conversation_seq', on: 'messages', columns: ['conversation_id', 'seq'], unique: true },
      // "Everything that changed since N" is one range scan.
      { name: 'messages_conversation_change', on: 'messages', columns: ['conversation_id', 'change_seq'] },
      // A retried send (same local_temp_id from the same sender) finds the original.
      { name: 'messages_sender_client', on: 'messages', columns: ['sender_id', 'client_id'], unique: true, where: ['client_id', 'is not'] },
      { name: 'messages_reply_to', on: 'messages', columns: ['reply_to_id'], where: ['reply_to_id', 'is not'] },
    ]);

    await pk(db.schema.createTable('attachments'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('tenant_id', big, (c: any) => c.notNull().references('tenants.id'))
      .addColumn('owner_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('message_id', big, (c: any) => c.references('messages.id'))
      .addColumn('position', 'integer', (c: any) => c.notNull().defaultTo(0))
      .addColumn('kind', 'varchar(16)', (c: any) => c.notNull())
      .addColumn('file_name', 'varchar(255)', (c: any) => c.notNull())
      .addColumn('stored_path', 'varchar(1024)', (c: any) => c.notNull())
      .addColumn('size', big, (c: any) => c.notNull())
      .addColumn('mime_type', 'varchar(255)', (c: any) => c.notNull())
      .addColumn('duration_seconds', 'real')
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('thumbnail_path', 'varchar(1024)')
      .addColumn('created_at', big, (c: any) => c.notNull())
      .execute();
    await createIndexes(db, [{ name: 'attachments_message', on: 'attachments', columns: ['message_id', 'position'] }]);

    await pk(db.schema.createTable('reactions'))
      .addColumn('uuid', 'varchar(36)', (c: any) => c.notNull().unique())
      .addColumn('message_id', big, (c: any) => c.notNull().references('messages.id'))
      .addColumn('user_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('emoji', 'varchar(64)', (c: any) => c.notNull())
      .addColumn('created_at', big, (c: any) => c.notNull())
      .execute();
    await createIndexes(db, [{ name: 'reactions_unique', on: 'reactions', columns: ['message_id', 'user_id', 'emoji'], unique: true }]);

    await required(db.schema.createTable('mentions'), [['message_id', 'messages.id'], ['user_id', 'users.id']])
      .addPrimaryKeyConstraint('mentions_pk', ['message_id', 'user_id'])
      .execute();
    await createIndexes(db, [{ name: 'mentions_user', on: 'mentions', columns: ['user_id'] }]);

    await db
      .insertInto('tenants')
      .values({ uuid: DEFAULT_TENANT_UUID, name: 'default', created_at: Date.now() })
      .execute();
  },
};
