import { sql, type Kysely } from 'kysely';
import { createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Issue 21 (groups): the append's push outbox joined every member of a conversation to find
 * who may get a push, per message: in a group without mentions, almost always nobody (the level
 * is `mentions` unless set), at the cost of a probe per member. `participants.push_all` is 1
 * where the member's level in force there is `all` (sql/notifications.ts keeps it with every
 * setting, membership and erasure), and a partial index lists them per conversation: a message
 * without mentions reads only those. Rows without a setting stay 0; the ones with are set here.
 */
export const pushAllMembers: VersionedMigration = {
  name: '0027-push-all-members',
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('participants')
      .addColumn('push_all', 'smallint', (c) => c.notNull().defaultTo(0))
      .execute();
    // Only members with some setting at `all` can be 1: the others keep the default.
    await sql
      .raw(
        `UPDATE participants SET push_all = CASE WHEN COALESCE(
             (SELECT cs.level FROM notification_settings cs WHERE cs.user_id = participants.user_id AND cs.conversation_id = participants.conversation_id),
             (SELECT us.level FROM notification_settings us WHERE us.user_id = participants.user_id AND us.conversation_id = 0),
             'mentions') = 'all' THEN 1 ELSE 0 END
          WHERE EXISTS (SELECT 1 FROM notification_settings s WHERE s.user_id = participants.user_id AND s.level = 'all')`,
      )
      .execute(db);
    await createIndexes(db, [{ name: 'participants_push_all', on: 'participants', columns: ['conversation_id'], where: sql<boolean>`push_all = 1` }]);
  },
};
