import { sql, type Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * The channel directory (issue 18): `conversations.visibility` (`private`, what every
 * conversation was before: invite only; `public`: listed in its tenant, anyone of it joins)
 * and `name_key`, the title folded once by the store (`directoryNameKey`), which the directory
 * searches and orders by. On PostgreSQL the key is compared bytewise (COLLATE "C") as SQLite
 * does, so both order a page the same and a (name_key, id) cursor means the same on both.
 */
export const channelVisibility: VersionedMigration = {
  name: '0012-channel-visibility',
  async up(db: Kysely<any>, dialect) {
    await db.schema.alterTable('conversations').addColumn('visibility', 'varchar(16)', (c: any) => c.notNull().defaultTo('private')).execute();
    if (dialect === 'postgres') await sql`ALTER TABLE conversations ADD COLUMN name_key text COLLATE "C" NOT NULL DEFAULT ''`.execute(db);
    else await db.schema.alterTable('conversations').addColumn('name_key', 'text', (c: any) => c.notNull().defaultTo('')).execute();
    // Folded as directoryNameKey did when this shipped (SQLite's lower() is ASCII only); only channels are ever listed.
    const fold = (title: string) => title.normalize('NFKC').toLowerCase().trim();
    const titled = await db.selectFrom('conversations').select(['id', 'title']).where('kind', '=', 'channel').where('title', 'is not', null).execute();
    for (const c of titled) await db.updateTable('conversations').set({ name_key: fold(c.title) }).where('id', '=', c.id).execute();
    // Only public channels are listed: a partial index holds just them, in directory order.
    await sql`CREATE INDEX conversations_directory ON conversations (tenant_id, name_key, id) WHERE visibility = 'public' AND deleted_at IS NULL`.execute(db);
  },
};
