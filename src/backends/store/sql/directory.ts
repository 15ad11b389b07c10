import { sql } from 'kysely';
import type { Id } from '../../../core/model.js';
import type { DirectoryCursor, DirectoryEntry, DirectoryStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { toConversation } from './rows.js';

/**
 * A title as the directory searches and orders it: NFKC (full-width and compatibility forms
 * as their plain letters), lower-cased in JavaScript so SQLite (whose lower() is ASCII only)
 * and PostgreSQL fold alike, surrounding space trimmed.
 */
export const directoryNameKey = (title: string | null): string => (title ?? '').normalize('NFKC').toLowerCase().trim();

/** `%q%` for LIKE … ESCAPE '\': the wildcards in `q` are taken literally. */
export const containsPattern = (q: string): string => '%' + q.replace(/[\\%_]/g, (c) => '\\' + c) + '%';

/** The channel directory: public channels read through their partial index (0012). */
export class SqlDirectory extends SqlAggregate implements DirectoryStore {
  async publicChannels(tenantId: Id, userId: Id, query: { q?: string; after?: DirectoryCursor; limit: number }): Promise<DirectoryEntry[]> {
    const q = query.q === undefined ? '' : directoryNameKey(query.q);
    const after = query.after;
    const rows = await this.all(
      this.db
        .selectFrom('conversations as c')
        .selectAll('c')
        .select((eb) =>
          eb
            .exists(eb.selectFrom('participants as p').select('p.user_id').whereRef('p.conversation_id', '=', 'c.id').where('p.user_id', '=', userId).where('p.left_at', 'is', null))
            .as('mine'),
        )
        .where('c.tenant_id', '=', tenantId)
        .where('c.visibility', '=', 'public')
        .where('c.deleted_at', 'is', null)
        .where('c.kind', '=', 'channel')
        .$if(q !== '', (b) => b.where(sql<boolean>`c.name_key like ${containsPattern(q)} escape '\\'`))
        .$if(after !== undefined, (b) =>
          b.where((eb) => eb.or([eb('c.name_key', '>', after!.nameKey), eb.and([eb('c.name_key', '=', after!.nameKey), eb('c.id', '>', after!.id)])])),
        )
        .orderBy('c.name_key')
        .orderBy('c.id')
        .limit(Math.max(1, Math.floor(query.limit))),
    );
    return rows.map((r) => ({ conversation: toConversation(r), member: Boolean(Number(r.mine)), nameKey: r.name_key }));
  }
}
