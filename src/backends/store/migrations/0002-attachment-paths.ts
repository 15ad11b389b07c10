import type { Kysely } from 'kysely';
import { createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * Files are looked up by key on every download (access check) and by the sweep; pending
 * uploads are swept by age.
 */
export const attachmentPaths: VersionedMigration = {
  name: '0002-attachment-paths',
  async up(db: Kysely<any>) {
    await createIndexes(db, [
      { name: 'attachments_stored_path', on: 'attachments', columns: ['stored_path'] },
      { name: 'attachments_thumbnail_path', on: 'attachments', columns: ['thumbnail_path'], where: ['thumbnail_path', 'is not'] },
      { name: 'attachments_pending', on: 'attachments', columns: ['created_at'], where: ['message_id', 'is'] },
    ]);
  },
};
