import type { Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * Issue 18, history and curation: the earlier texts of edited messages (written in the
 * edit's transaction, removed with a delete for everyone), messages a user deleted for
 * themselves only, pins per conversation and saved messages per user.
 */
export const curation: VersionedMigration = {
  name: '0011-curation',
  async up(db: Kysely<any>, dialect) {
    const big = dialect === 'postgres' ? 'bigint' : 'integer';
    const pk = (t: any) =>
      dialect === 'postgres'
        ? t.addColumn('id', 'bigserial', (c: any) => c.primaryKey())
        : t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement());

    await pk(db.schema.createTable('message_revisions'))
      .addColumn('message_id', big, (c: any) => c.notNull().references('messages.id'))
      .addColumn('editor_id', big, (c: any) => c.notNull())
      .addColumn('content', 'text', (c: any) => c.notNull())
      /** When this text was written: the message's creation or its previous edit. */
      .addColumn('written_at', big, (c: any) => c.notNull())
      .addColumn('replaced_at', big, (c: any) => c.notNull())
      .execute();
    await db.schema.createIndex('message_revisions_message').on('message_revisions').columns(['message_id', 'id']).execute();

    await db.schema
      .createTable('message_hides')
      .addColumn('user_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('message_id', big, (c: any) => c.notNull().references('messages.id'))
      .addColumn('conversation_id', big, (c: any) => c.notNull())
      .addColumn('seq', big, (c: any) => c.notNull())
      .addColumn('hidden_at', big, (c: any) => c.notNull())
      .addPrimaryKeyConstraint('message_hides_pk', ['user_id', 'message_id'])
      .execute();
    await db.schema.createIndex('message_hides_user_conversation').on('message_hides').columns(['user_id', 'conversation_id', 'seq']).execute();

    await db.schema
      .createTable('pins')
      .addColumn('conversation_id', big, (c: any) => c.notNull().references('conversations.id'))
      .addColumn('message_id', big, (c: any) => c.notNull().references('messages.id'))
      .addColumn('pinned_by', big, (c: any) => c.notNull())
      .addColumn('pinned_at', big, (c: any) => c.notNull())
      .addPrimaryKeyConstraint('pins_pk', ['conversation_id', 'message_id'])
      .execute();

    await pk(db.schema.createTable('saved_messages'))
      .addColumn('user_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('message_id', big, (c: any) => c.notNull().references('messages.id'))
      .addColumn('conversation_id', big, (c: any) => c.notNull())
      .addColumn('saved_at', big, (c: any) => c.notNull())
      .execute();
    await db.schema.createIndex('saved_messages_user_message').unique().on('saved_messages').columns(['user_id', 'message_id']).execute();
    await db.schema.createIndex('saved_messages_user_order').on('saved_messages').columns(['user_id', 'saved_at', 'id']).execute();
  },
};
