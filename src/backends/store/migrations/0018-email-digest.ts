import type { Kysely } from 'kysely';
import { columnTypes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * E-mail for unread DMs and mentions (issue 19): per user and conversation, the seq up to
 * which the user has been e-mailed (`email_watermarks`: nothing at or below it is e-mailed
 * again); who turned e-mail off (`email_opt_outs`, the unsubscribe link); each e-mail sent
 * (`email_sends`); and the lease a process takes on a user while it sends their e-mail
 * (`email_claims`), so two processes never e-mail one user the same messages.
 */
export const emailDigest: VersionedMigration = {
  name: '0018-email-digest',
  async up(db: Kysely<any>, dialect) {
    const { big, withId, required } = columnTypes(dialect);
    await required(db.schema.createTable('email_watermarks'), [['user_id', 'users.id'], ['conversation_id', 'conversations.id'], ['emailed_seq']])
      .addPrimaryKeyConstraint('email_watermarks_pk', ['user_id', 'conversation_id'])
      .execute();
    await required(db.schema.createTable('email_opt_outs'), [['user_id', 'users.id'], ['created_at']])
      .addPrimaryKeyConstraint('email_opt_outs_pk', ['user_id'])
      .execute();
    await required(withId(db.schema.createTable('email_sends')), [['user_id', 'users.id'], ['sent_at'], ['messages']]).execute();
    await db.schema
      .createTable('email_claims')
      .addColumn('user_id', big, (c: any) => c.notNull().primaryKey().references('users.id'))
      .addColumn('claimed_until', big, (c: any) => c.notNull())
      .addColumn('holder', 'varchar(64)', (c: any) => c.notNull())
      .execute();
  },
};
