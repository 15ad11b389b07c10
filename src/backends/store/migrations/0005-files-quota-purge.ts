import { sql, type Kysely } from 'kysely';
import { columnTypes, createIndexes } from './helpers.js';
import type { VersionedMigration } from './index.js';

/**
 * - A user's pending uploads are counted (files and bytes) before each upload is admitted
 *   (FILES_PENDING_QUOTA_*): an index on the owner, over pending rows only.
 * - The files of a deleted conversation are removed by the sweep; `files_purged_at` records
 *   that it is done, so each sweep visits only the deletions it has not finished.
 */
export const filesQuotaPurge: VersionedMigration = {
  name: '0005-files-quota-purge',
  async up(db: Kysely<any>, dialect) {
    await createIndexes(db, [{ name: 'attachments_pending_owner', on: 'attachments', columns: ['owner_id'], where: ['message_id', 'is'] }]);
    await db.schema.alterTable('conversations').addColumn('files_purged_at', columnTypes(dialect).big).execute();
    await createIndexes(db, [
      { name: 'conversations_files_to_purge', on: 'conversations', columns: ['deleted_at'], where: sql<boolean>`deleted_at IS NOT NULL AND files_purged_at IS NULL` },
    ]);
  },
};
