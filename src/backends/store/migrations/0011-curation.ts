import type { Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Issue 18, history and curation: the earlier texts of edited messages (written in the
 * edit's transaction, removed with a delete for everyone), messages a user deleted for
 * themselves only, pins per conversation and saved messages per user.
 */
export const curation: VersionedMigration = {
  name: '0011-curation',
  async up(db: Kysely<any>, dialect) {
    const { withId, required } = columnTypes(dialect);
    await required(withId(db.schema.createTable('message_revisions')), [['message_id', 'messages.id'], ['editor_id']])
      .addColumn('content', 'text', (c) => c.notNull())
      // written_at: when this text was written (the message's creation or its previous edit).
      .$call((t) => required(t, [['written_at'], ['replaced_at']]))
      .execute();
    await required(db.schema.createTable('message_hides'), [['user_id', 'users.id'], ['message_id', 'messages.id'], ['conversation_id'], ['seq'], ['hidden_at']])
      .addPrimaryKeyConstraint('message_hides_pk', ['user_id', 'message_id'])
      .execute();
    await required(db.schema.createTable('pins'), [['conversation_id', 'conversations.id'], ['message_id', 'messages.id'], ['pinned_by'], ['pinned_at']])
      .addPrimaryKeyConstraint('pins_pk', ['conversation_id', 'message_id'])
      .execute();
    await required(withId(db.schema.createTable('saved_messages')), [['user_id', 'users.id'], ['message_id', 'messages.id'], ['conversation_id'], ['saved_at']]).execute();
    await createIndexes(db, [
      { name: 'message_revisions_message', on: 'message_revisions', columns: ['message_id', 'id'] },
      { name: 'message_hides_user_conversation', on: 'message_hides', columns: ['user_id', 'conversation_id', 'seq'] },
      { name: 'saved_messages_user_message', on: 'saved_messages', columns: ['user_id', 'message_id'], unique: true },
      { name: 'saved_messages_user_order', on: 'saved_messages', columns: ['user_id', 'saved_at', 'id'] },
    ]);
  },
};
