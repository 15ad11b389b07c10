import type { Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Moderation (issue 20): a user's ban or mute in a conversation (`conversation_sanctions`, one
 * row per kind, in force while `until` is null or later than now: nothing has to run to lift
 * it), the reports of messages (`message_reports`, once per reporter and message, in exactly one
 * state) and why a moderator deleted someone's message (`message_deletions`).
 */
export const moderation: VersionedMigration = {
  name: '0022-moderation',
  async up(db: Kysely<any>, dialect) {
    const { big, withId, required } = columnTypes(dialect);
    await required(db.schema.createTable('conversation_sanctions'), [['conversation_id', 'conversations.id'], ['user_id', 'users.id'], ['created_at']])
      .addColumn('kind', 'varchar(8)', (c: any) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('until', big)
      .addColumn('created_by', big, (c: any) => c.references('users.id'))
      .addPrimaryKeyConstraint('conversation_sanctions_pk', ['conversation_id', 'user_id', 'kind'])
      .execute();
    await required(withId(db.schema.createTable('message_reports')), [
      ['tenant_id', 'tenants.id'], ['conversation_id', 'conversations.id'], ['message_id', 'messages.id'],
      ['reporter_id', 'users.id'], ['author_id', 'users.id'], ['created_at'],
    ])
      .addColumn('reason', 'text', (c: any) => c.notNull())
      .addColumn('state', 'varchar(16)', (c: any) => c.notNull())
      .addColumn('resolved_by', big, (c: any) => c.references('users.id'))
      .addColumn('resolved_at', big)
      .execute();
    await createIndexes(db, [
      { name: 'message_reports_once', on: 'message_reports', columns: ['message_id', 'reporter_id'], unique: true },
      { name: 'message_reports_queue', on: 'message_reports', columns: ['tenant_id', 'state', 'id'] },
      { name: 'message_reports_reporter', on: 'message_reports', columns: ['reporter_id', 'id'] },
    ]);
    await required(db.schema.createTable('message_deletions'), [['message_id', 'messages.id'], ['deleted_by', 'users.id']])
      .addColumn('reason', 'text', (c: any) => c.notNull())
      .addPrimaryKeyConstraint('message_deletions_pk', ['message_id'])
      .execute();
  },
};
