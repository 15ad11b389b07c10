import type { Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Push notifications (issue 19): each user's settings (conversation_id 0: every conversation),
 * the devices' push subscriptions, and the outbox — a row per (user, message) a push may be
 * due for, written by the append in the message's transaction and removed once sent or
 * cancelled. No foreign keys: a purge or a deleted account is never held up by a pending push.
 */
export const notifications: VersionedMigration = {
  name: '0013-notifications',
  async up(db: Kysely<any>, dialect) {
    const { withId, required } = columnTypes(dialect);
    await required(db.schema.createTable('notification_settings'), [['user_id'], ['conversation_id'], ['mute_until']])
      // null: as the user's own setting (a conversation's row), or the default (the user's row).
      .addColumn('level', 'varchar(16)')
      .addPrimaryKeyConstraint('notification_settings_pk', ['user_id', 'conversation_id'])
      .execute();
    await required(withId(db.schema.createTable('push_subscriptions')), [['user_id'], ['created_at']])
      .addColumn('kind', 'varchar(8)', (c) => c.notNull())
      .addColumn('device_id', 'varchar(128)', (c) => c.notNull())
      // A Web Push endpoint URL, or an FCM/APNs device token.
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('p256dh', 'text')
      .addColumn('auth', 'text')
      .execute();
    // lease_until: a dispatcher claimed the row until then (a crashed one's claim runs out).
    await required(withId(db.schema.createTable('notification_outbox')), [['user_id'], ['conversation_id'], ['message_id'], ['seq'], ['due_at'], ['lease_until'], ['attempts']]).execute();
    await createIndexes(db, [
      { name: 'push_subscriptions_endpoint', on: 'push_subscriptions', columns: ['kind', 'endpoint'], unique: true },
      { name: 'push_subscriptions_user', on: 'push_subscriptions', columns: ['user_id'] },
      { name: 'notification_outbox_due', on: 'notification_outbox', columns: ['due_at'] },
    ]);
  },
};
