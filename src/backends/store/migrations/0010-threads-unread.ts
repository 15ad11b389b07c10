import { sql, type Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * Issue 18, threads and unread:
 * - participants.seen_seq: the reader's own place (above it is unread to them). It moves with
 *   reads and own sends like max(read_seq, sent_seq) did, and back with "mark as unread";
 *   read_seq, which others see as receipts and 004's read status, never moves back.
 * - messages_deleted_seq: deleted messages only, so an unread count subtracts the deleted
 *   ones above the watermark without reading the others.
 * - messages_thread_seq: a thread's replies in seq order (its unread replies, its last reply).
 * - thread_members: per user and thread (a root message): read position and following.
 */
export const threadsUnread: VersionedMigration = {
  name: '0010-threads-unread',
  async up(db: Kysely<any>, dialect) {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema.alterTable('participants').addColumn('seen_seq', bigint, (c) => c.notNull().defaultTo(0)).execute();
    await sql`UPDATE participants SET seen_seq = CASE WHEN read_seq > sent_seq THEN read_seq ELSE sent_seq END`.execute(db);
    await db.schema.createIndex('messages_deleted_seq').on('messages').columns(['conversation_id', 'seq']).where(sql.ref('deleted_at'), 'is not', null).execute();
    await db.schema.createIndex('messages_thread_seq').on('messages').columns(['reply_to_id', 'seq']).where(sql.ref('reply_to_id'), 'is not', null).execute();
    await db.schema
      .createTable('thread_members')
      .addColumn('root_id', bigint, (c) => c.notNull())
      .addColumn('user_id', bigint, (c) => c.notNull())
      .addColumn('conversation_id', bigint, (c) => c.notNull())
      .addColumn('read_seq', bigint, (c) => c.notNull())
      .addColumn('following', 'integer', (c) => c.notNull())
      .addColumn('updated_at', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('thread_members_pk', ['root_id', 'user_id'])
      .execute();
    await db.schema.createIndex('thread_members_user').on('thread_members').columns(['user_id', 'following', 'updated_at']).execute();
  },
};
