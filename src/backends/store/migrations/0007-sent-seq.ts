import { sql, type Kysely } from 'kysely';
import { columnTypes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * A participant's newest own message. Sending no longer moves read_seq over messages the
 * sender never saw (004's "read" status); the unread count starts above the newer of the
 * two, so a reply still clears it. Existing rows: read_seq was moved by every send.
 */
export const sentSeq: VersionedMigration = {
  name: '0007-sent-seq',
  async up(db: Kysely<any>, dialect) {
    await db.schema
      .alterTable('participants')
      .addColumn('sent_seq', columnTypes(dialect).big, (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`UPDATE participants SET sent_seq = read_seq`.execute(db);
  },
};
