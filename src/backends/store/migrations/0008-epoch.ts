import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * The history's epoch (issue 15 item 9, as Centrifugo's stream epoch): a cursor (seq,
 * change_seq) means something only in the epoch it was read in. A database restored from a
 * backup starts lower (its seqs are reused by new messages), so the backup takes a new epoch
 * (`parley backup`, `parley epoch renew`), and every cursor of the old one is answered
 * `snapshot_required` instead of being told nothing was missed.
 */
export const epoch: VersionedMigration = {
  name: '0008-epoch',
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('server_state')
      .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .execute();
    await db.insertInto('server_state').values({ key: 'epoch', value: randomUUID() }).execute();
  },
};
