import type { Kysely } from 'kysely';
import { createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * A local_temp_id identifies a send within its conversation (issue 14, item 1): the
 * documents' clients build it from Date.now() and many number per conversation, so one sender
 * reuses it across conversations, and keyed by (sender, client_id) alone a send into another
 * conversation was answered with the earlier message of the first one. The key becomes
 * (sender, conversation, client_id). Every row that satisfied the old index satisfies the new
 * one (it only adds a column), so a populated database migrates without touching a row.
 */
export const clientIdPerConversation: VersionedMigration = {
  name: '0003-client-id-per-conversation',
  async up(db: Kysely<any>) {
    // Created before the old one is dropped: there is no moment without a unique key.
    await createIndexes(db, [
      { name: 'messages_sender_conversation_client', on: 'messages', columns: ['sender_id', 'conversation_id', 'client_id'], unique: true, where: ['client_id', 'is not'] },
    ]);
    await db.schema.dropIndex('messages_sender_client').execute();
  },
};
