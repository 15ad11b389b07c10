import { sql, type Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * Issue 18, the conversation's unread count counts neither deleted messages nor thread
 * replies (a reply counts in its thread's unread, as Slack's and Mattermost's collapsed
 * threads do): `messages_uncounted_seq` holds just those, so a count subtracts them above
 * the reader's place without reading any other message. It replaces messages_deleted_seq.
 * The condition is written as the unread query writes it (UNCOUNTED_MESSAGE, store/sql/unread.ts):
 * SQLite uses a partial index only for a query that repeats its WHERE term. Also
 * message_hides_message: who deleted a message for themselves, by message.
 */
export const unreadUncounted: VersionedMigration = {
  name: '0017-unread-uncounted',
  async up(db: Kysely<any>) {
    await sql`CREATE INDEX messages_uncounted_seq ON messages (conversation_id, seq) WHERE (deleted_at IS NOT NULL OR reply_to_id IS NOT NULL)`.execute(db);
    await db.schema.dropIndex('messages_deleted_seq').execute();
    // Who hid a message, read when it changes (an edit, a reaction, a delete): their own-API sockets do not hear of it.
    await db.schema.createIndex('message_hides_message').on('message_hides').columns(['message_id']).execute();
  },
};
