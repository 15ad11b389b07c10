import { sql, type Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * Files are looked up by key on every download (access check) and by the sweep; pending
 * uploads are swept by age.
 */
export const attachmentPaths: VersionedMigration = {
  name: '0002-attachment-paths',
  async up(db: Kysely<any>) {
    await db.schema.createIndex('attachments_stored_path').on('attachments').column('stored_path').execute();
    await db.schema
      .createIndex('attachments_thumbnail_path')
      .on('attachments')
      .column('thumbnail_path')
      .where(sql.ref('thumbnail_path'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('attachments_pending')
      .on('attachments')
      .columns(['created_at'])
      .where(sql.ref('message_id'), 'is', null)
      .execute();
  },
};
