import type { Id } from '../../../core/model.js';
import { conversationTerm, highlight, indexRow, queryTerms } from '../search-text.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { SearchHit, SearchQuery, SearchStore } from '../store.js';
import type { SqlAdapter } from './adapter.js';
import { SqlAggregate } from './aggregate.js';
import { hydrateMessages } from './messages.js';
import { MESSAGE_COLUMNS_OF_M, type MessageRow } from './rows.js';

/** A message's text as the index sees it: its content and its files' names. */
export interface Indexable {
  id: Id;
  conversationId: Id;
  content: string | null;
  fileNames: readonly string[];
  /** Its index row when already computed (indexRow of the above). */
  row?: string;
}

/**
 * Writes the index rows of new messages (their words after their conversation's term) in the caller's transaction (the append's, an
 * edit's): one statement for the whole batch. A message without a searchable word gets none.
 */
export async function indexMessages(tx: SqlRunner, adapter: SqlAdapter, messages: readonly Indexable[]): Promise<void> {
  const rows = messages.flatMap((m) => {
    const text = m.row ?? indexRow(m.conversationId, m.content, m.fileNames);
    return text === '' ? [] : [m.id, text];
  });
  if (rows.length === 0) return;
  const value = `(?, ${adapter.searchTerms()})`;
  await tx.run(raw(`INSERT INTO message_search (rowid, terms) VALUES ${new Array(rows.length / 2).fill(value).join(', ')}`, rows));
}

/** Removes a message from the index (deleted, or about to be indexed again after an edit). */
export async function unindexMessage(tx: SqlRunner, messageId: Id): Promise<void> {
  await tx.run(raw('DELETE FROM message_search WHERE rowid = ?', [messageId]));
}

/** A page's position: newest first `<id>`; by relevance `<score>_<id>`. */
function parseCursor(cursor: string | undefined, order: SearchQuery['order']): { score: number; id: number } | null {
  if (cursor === undefined) return null;
  const [a, b] = cursor.split('_');
  const parsed = order === 'newest' ? { score: 0, id: Number(a) } : { score: Number(a), id: Number(b) };
  return Number.isSafeInteger(parsed.id) && Number.isFinite(parsed.score) ? parsed : { score: -Infinity, id: 0 };
}

type HitRow = MessageRow & { score: number };

/** Full-text search (docs/search.md): the index table `message_search`, joined to the caller's memberships. */
export class SqlSearch extends SqlAggregate implements SearchStore {
  async searchMessages(q: SearchQuery): Promise<{ hits: SearchHit[]; next: string | null }> {
    const words = queryTerms(q.text);
    if (words.length === 0) return { hits: [], next: null };
    const cursor = parseCursor(q.cursor, q.order);
    // A conversation filter is a word of the index too: intersected there, not scanned after.
    const match = this.adapter.searchMatch(words, q.conversationId === undefined ? [] : [conversationTerm(q.conversationId)]);
    const score = q.order === 'relevance' ? this.adapter.searchScore(words) : { sql: '0', params: [] };
    const where: string[] = [];
    const params: unknown[] = [];
    const when = (cond: string, ...p: unknown[]) => (where.push(cond), params.push(...p));
    if (q.conversationId !== undefined) when('m.conversation_id = ?', q.conversationId);
    if (q.senderId !== undefined) when('m.sender_id = ?', q.senderId);
    if (q.has !== undefined) when('EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id AND a.kind = ?)', q.has);
    if (q.before !== undefined) when('m.created_at < ?', q.before);
    if (q.after !== undefined) when('m.created_at > ?', q.after);
    if (q.threadId !== undefined) when('(m.id = ? OR m.reply_to_id = ?)', q.threadId, q.threadId);
    // The membership is checked here, at query time: a current participant of a live
    // conversation; a message deleted since it was indexed, or deleted by the searcher for
    // themselves (message_hides' primary key), is left out too.
    const inner = `SELECT ${MESSAGE_COLUMNS_OF_M}, ${score.sql} AS score
      FROM message_search
      JOIN messages m ON m.id = message_search.rowid
      JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = ? AND p.left_at IS NULL
      JOIN conversations c ON c.id = m.conversation_id AND c.deleted_at IS NULL
      WHERE ${match.sql} AND m.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = p.user_id AND h.message_id = m.id)${where.map((w) => ' AND ' + w).join('')}`;
    const innerParams = [...score.params, q.userId, ...match.params, ...params];
    const rows =
      q.order === 'newest'
        ? await this.#newest(inner, innerParams, cursor?.id, q.limit + 1)
        : await this.all<HitRow>(
            raw(
              `SELECT * FROM (${inner}) AS hit${cursor ? ' WHERE hit.score > ? OR (hit.score = ? AND hit.id < ?)' : ''} ORDER BY hit.score, hit.id DESC LIMIT ?`,
              [...innerParams, ...(cursor ? [cursor.score, cursor.score, cursor.id] : []), q.limit + 1],
            ),
          );
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    const next = rows.length > q.limit && last ? (q.order === 'newest' ? String(last.id) : `${Number(last.score)}_${last.id}`) : null;
    const messages = await hydrateMessages(this.ctx, page);
    const hits = messages.map((message): SearchHit => {
      const inContent = message.content === null ? null : highlight(message.content, words);
      if (inContent) return { message, highlight: { field: 'content', ...inContent } };
      for (const a of message.attachments) {
        const inName = highlight(a.fileName, words);
        if (inName) return { message, highlight: { field: 'file', ...inName } };
      }
      return { message, highlight: null };
    });
    return { hits, next };
  }

  /** At most `limit` hits of `inner` below the id `before`, newest first (SqlAdapter.searchWindows). */
  async #newest(inner: string, params: readonly unknown[], before: number | undefined, limit: number): Promise<HitRow[]> {
    const { searchWindows: windows, searchOrder: order } = this.adapter;
    // Hits with top - depth <= id < top (no lower bound without a depth).
    const window = (top: number, depth: number | undefined, n: number) =>
      this.all<HitRow>(
        raw(`${inner} AND message_search.rowid < ?${depth === undefined ? '' : ' AND message_search.rowid >= ?'} ORDER BY ${order} DESC LIMIT ?`, [
          ...params,
          top,
          ...(depth === undefined ? [] : [top - depth]),
          n,
        ]),
      );
    if (!windows) return window(before ?? Number.MAX_SAFE_INTEGER, undefined, limit);
    let top = before ?? Number((await this.first<{ top: number | null }>(raw('SELECT max(rowid) AS top FROM message_search', [])))?.top ?? 0) + 1;
    const out: HitRow[] = [];
    for (let i = 0; i <= windows.length && out.length < limit && top > 1; i++) {
      const depth = i < windows.length ? windows[i] - (windows[i - 1] ?? 0) : undefined;
      out.push(...(await window(top, depth, limit - out.length)));
      if (depth !== undefined) top -= depth;
    }
    return out;
  }
}
