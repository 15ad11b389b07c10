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
    const visible = `JOIN messages m ON m.id = message_search.rowid
      JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = ? AND p.left_at IS NULL
      JOIN conversations c ON c.id = m.conversation_id AND c.deleted_at IS NULL
      WHERE m.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = p.user_id AND h.message_id = m.id)${where.map((w) => ' AND ' + w).join('')}`;
    // The matches are sorted alone (the inner LIMIT keeps the subquery apart), then joined in
    // that order until the page is full: the thousand matches of a rare word are not each
    // joined to their message and membership before the sort (PostgreSQL at 1M: by relevance
    // 55 → 14 ms, a common word in one conversation 139 → 12 ms).
    const sorted = (columns: string, order: string, range: string, rangeParams: unknown[], after: string, afterParams: unknown[], n: number) =>
      this.all<HitRow>(
        raw(
          `SELECT ${MESSAGE_COLUMNS_OF_M}, message_search.score AS score
           FROM (SELECT message_search.rowid AS rowid, ${columns} FROM message_search WHERE ${match.sql}${range} ORDER BY ${order} LIMIT ${Number.MAX_SAFE_INTEGER}) AS message_search
           ${visible}${after} ORDER BY ${order.replace(/\b(score|rowid|k)\b/g, 'message_search.$1')} LIMIT ?`,
          [...score.params, ...match.params, ...rangeParams, q.userId, ...params, ...afterParams, n],
        ),
      );
    const rows =
      q.order === 'newest'
        ? await this.#newest(
            // k: what newest-first orders by (SqlAdapter.searchOrder), named so the join keeps its order.
            (range, rangeParams, n) => sorted(`0 AS score, ${this.adapter.searchOrder} AS k`, 'k DESC', range, rangeParams, '', [], n),
            cursor?.id,
            q.limit + 1,
            q.conversationId,
          )
        : await sorted(
            `${score.sql} AS score`,
            'score, rowid DESC',
            '',
            [],
            cursor ? ' AND (message_search.score > ? OR (message_search.score = ? AND message_search.rowid < ?))' : '',
            cursor ? [cursor.score, cursor.score, cursor.id] : [],
            q.limit + 1,
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

  /** The ids of a conversation's first and last messages (ids grow with seq in a conversation); null without any. */
  async #span(conversationId: Id): Promise<{ first: number; last: number } | null> {
    const r = await this.first<{ first: number | null; last: number | null }>(
      raw(
        `SELECT (SELECT id FROM messages WHERE conversation_id = ? ORDER BY seq LIMIT 1) AS first, (SELECT id FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1) AS last`,
        [conversationId, conversationId],
      ),
    );
    return r?.first == null || r.last == null ? null : { first: Number(r.first), last: Number(r.last) };
  }

  /**
   * At most `limit` hits of `inner` below the id `before`, newest first (SqlAdapter.searchWindows).
   * In one conversation the windows run over its own ids only (`span`), not from the newest
   * message of all: a conversation of a few thousand messages is one window, wherever its ids lie.
   */
  async #newest(
    page: (range: string, rangeParams: unknown[], n: number) => Promise<HitRow[]>,
    before: number | undefined,
    limit: number,
    conversationId: Id | undefined,
  ): Promise<HitRow[]> {
    const windows = this.adapter.searchWindows;
    // Hits with top - depth <= id < top (no lower bound without a depth).
    const window = (top: number, depth: number | undefined, n: number) =>
      page(` AND message_search.rowid < ?${depth === undefined ? '' : ' AND message_search.rowid >= ?'}`, [top, ...(depth === undefined ? [] : [top - depth])], n);
    if (!windows) return window(before ?? Number.MAX_SAFE_INTEGER, undefined, limit);
    const span = conversationId === undefined ? null : await this.#span(conversationId);
    if (conversationId !== undefined && span === null) return [];
    const newest = span ? span.last : Number((await this.first<{ top: number | null }>(raw('SELECT max(rowid) AS top FROM message_search', [])))?.top ?? 0);
    let top = Math.min(before ?? Infinity, newest + 1);
    const bottom = span ? span.first : 1;
    const out: HitRow[] = [];
    for (let i = 0; i <= windows.length && out.length < limit && top > bottom; i++) {
      // The last window reaches the bottom (a conversation's first message): no deeper one follows.
      const wanted = i < windows.length ? windows[i] - (windows[i - 1] ?? 0) : undefined;
      const depth = wanted !== undefined && span && wanted >= top - bottom ? top - bottom : wanted;
      out.push(...(await window(top, depth, limit - out.length)));
      if (depth !== undefined) top -= depth;
    }
    return out;
  }
}
