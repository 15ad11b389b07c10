import { sql, type Kysely } from 'kysely';
import { indexRow } from '../search-text.js';
import type { VersionedMigration } from './index.js';

/** Messages read per backfill step: bounded memory at any history size. */
const BACKFILL_CHUNK = 2000;

/**
 * Full-text search (issue 18, docs/search.md): `message_search`, one row per live message
 * with searchable words (rowid = the message's id), holding its words and its files' names
 * segmented and folded by `search-text.ts`, after its conversation's term (a filter by
 * conversation is then one more word for the index to intersect). SQLite: an FTS5 table (the `ascii` tokenizer
 * only splits on the spaces put between the words; every non-ASCII character is part of a
 * word, whatever Unicode version SQLite knows). PostgreSQL: a tsvector of those words, taken
 * as they are (no parser, no stemming), under a GIN index. The messages already stored are
 * indexed here.
 */
export const search: VersionedMigration = {
  name: '0009-search',
  async up(db: Kysely<any>, dialect) {
    if (dialect === 'sqlite') {
      // Prefix indexes of 2 and 3 characters: a short prefix (what one types first) is one
      // doclist read lazily, not the union of every word it begins (21 ms → 0.1 ms at 1M).
      await sql`CREATE VIRTUAL TABLE message_search USING fts5(terms, tokenize = 'ascii', prefix = '2 3')`.execute(db);
    } else {
      await sql`CREATE TABLE message_search (rowid BIGINT PRIMARY KEY, terms TSVECTOR NOT NULL)`.execute(db);
      await sql`CREATE INDEX message_search_terms ON message_search USING GIN (terms)`.execute(db);
    }
    const value = (id: number, text: string) =>
      dialect === 'sqlite' ? sql`(${id}, ${text})` : sql`(${id}, array_to_tsvector(string_to_array(CAST(${text} AS text), ' ')))`;
    for (let after = 0; ; ) {
      const { rows } = await sql<{ id: number; conversation_id: number; content: string | null }>`
        SELECT id, conversation_id, content FROM messages WHERE id > ${after} AND deleted_at IS NULL ORDER BY id LIMIT ${BACKFILL_CHUNK}`.execute(db);
      if (rows.length === 0) break;
      after = Number(rows.at(-1)!.id);
      const ids = rows.map((r) => Number(r.id));
      const files = await sql<{ message_id: number; file_name: string }>`
        SELECT message_id, file_name FROM attachments WHERE message_id IN (${sql.join(ids)}) ORDER BY message_id, position`.execute(db);
      const names = new Map<number, string[]>();
      for (const f of files.rows) names.set(Number(f.message_id), [...(names.get(Number(f.message_id)) ?? []), f.file_name]);
      const values = rows.flatMap((r) => {
        const text = indexRow(Number(r.conversation_id), r.content, names.get(Number(r.id)));
        return text === '' ? [] : [value(Number(r.id), text)];
      });
      if (values.length > 0) await sql`INSERT INTO message_search (rowid, terms) VALUES ${sql.join(values)}`.execute(db);
    }
  },
};
