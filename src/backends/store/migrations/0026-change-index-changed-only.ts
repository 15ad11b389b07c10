import { sql, type Kysely } from 'kysely';
import { createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Issue 21, item 1: `messages_conversation_change` indexed every message, so each append wrote
 * a leaf of it per conversation of the batch (a third of the WAL pages of a commit). A new
 * message is read by seq (a resume's new messages, a gap's), so the change index needs only
 * the messages changed after their creation. `unchanged` says which are not: 1 as the append
 * writes a message, null once an edit, delete or reaction stamps a change_seq on it. Rows from
 * before this migration stay null: whether a reaction came and went is not known, so they stay
 * in the index as they were, and nothing is rewritten (adding a nullable column touches no row).
 */
export const changeIndexChangedOnly: VersionedMigration = {
  name: '0026-change-index-changed-only',
  async up(db: Kysely<any>) {
    await db.schema.alterTable('messages').addColumn('unchanged', 'smallint').execute();
    // Made under a new name before the old one goes: a change read never lacks its index.
    await createIndexes(db, [{ name: 'messages_conversation_changed', on: 'messages', columns: ['conversation_id', 'change_seq'], where: sql<boolean>`unchanged IS NULL` }]);
    await db.schema.dropIndex('messages_conversation_change').execute();
  },
};
