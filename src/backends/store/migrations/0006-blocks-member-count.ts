import { sql, type Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Blocks, one row per (blocker, blocked): both people of a pair may block each other, and
 * one unblocking must not lift the other's block, which the one-row-per-pair `friendships`
 * (status `blocked`) cannot hold.
 *
 * `conversations.member_count`, the current participants, kept by the store in the same
 * transaction as every add and removal: the room list shows a group's size without reading
 * its members, and the member cap is checked against it under the conversation's row lock.
 */
export const blocksMemberCount: VersionedMigration = {
  name: '0006-blocks-member-count',
  async up(db: Kysely<any>, dialect) {
    const { big } = columnTypes(dialect);
    await db.schema
      .createTable('blocks')
      .addColumn('blocker_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('blocked_id', big, (c: any) => c.notNull().references('users.id'))
      .addColumn('created_at', big, (c: any) => c.notNull())
      .addPrimaryKeyConstraint('blocks_pk', ['blocker_id', 'blocked_id'])
      .execute();
    await createIndexes(db, [{ name: 'blocks_blocked', on: 'blocks', columns: ['blocked_id', 'blocker_id'] }]);

    await db.schema.alterTable('conversations').addColumn('member_count', 'integer', (c: any) => c.notNull().defaultTo(0)).execute();
    await sql`UPDATE conversations SET member_count = (SELECT count(*) FROM participants p WHERE p.conversation_id = conversations.id AND p.left_at IS NULL)`.execute(db);
  },
};
