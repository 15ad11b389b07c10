import type { Id } from '../../../core/model.js';
import { conversationTerm, highlight, indexRow, queryTerms } from '../search-text.js';
import { prepared, raw, type SqlRunner, type Statement } from '../sql-runner.js';
import type { SearchHit, SearchQuery, SearchStore } from '../store.js';
import type { SortedSearchPlan, SqlAdapter } from './adapter.js';
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
  const insert = indexStatement(adapter, messages);
  if (insert) await tx.run(insert);
}

/** indexMessages' statement, for a caller that sends it together with others (the append); null: nothing to index. */
export function indexStatement(adapter: SqlAdapter, messages: readonly Indexable[]): Statement | null {
  const rows = messages.flatMap((m) => {
    const text = m.row ?? indexRow(m.conversationId, m.content, m.fileNames);
    return text === '' ? [] : [[m.id, text]];
  });
  if (rows.length === 0) return null;
  const v = adapter.valueTable(['BIGINT', 'TEXT'], rows);
  return prepared(indexInsertSql(adapter, v.sql), v.parameters);
}

/** The index rows' insert over a FROM item `v`: column1 the message's id, column2 its index text (not empty). */
export const indexInsertSql = (adapter: SqlAdapter, v: string) => `INSERT INTO message_search (rowid, terms) SELECT v.column1, ${adapter.searchTerms('v.column2')} FROM ${v}`;

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
    // themselves (message_hides' primary key), is left out too. `hit`: the index's rows.
    const visible = (hit: string) => `JOIN messages m ON m.id = ${hit}.rowid
      JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = ? AND p.left_at IS NULL
      JOIN conversations c ON c.id = m.conversation_id AND c.deleted_at IS NULL
      WHERE m.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = p.user_id AND h.message_id = m.id)${where.map((w) => ' AND ' + w).join('')}`;
    const visibleParams = [q.userId, ...params];
    const sorted = this.adapter.searchSorted;
    let rows: HitRow[];
    if (sorted) {
      const seek = new SortedSearch(this.runner, visible('hit'), visibleParams, match, q.limit + 1);
      rows =
        q.order === 'newest'
          ? await seek.newest(
              cursor?.id,
              q.conversationId,
              sorted,
              words.map((w) => this.adapter.searchMatch([w], [])),
              this.adapter.searchMatch(words, []),
            )
          : await seek.ranked(score, cursor);
    } else {
      // One statement: FTS5 reads the matches in rowid order (or ranks them itself) under the LIMIT.
      const inner = `SELECT ${MESSAGE_COLUMNS_OF_M}, ${score.sql} AS score FROM message_search ${visible('message_search')} AND ${match.sql}`;
      const innerParams = [...score.params, ...visibleParams, ...match.params];
      rows =
        q.order === 'newest'
          ? await this.all<HitRow>(
              raw(`${inner}${cursor ? ' AND message_search.rowid < ?' : ''} ORDER BY message_search.rowid DESC LIMIT ?`, [...innerParams, ...(cursor ? [cursor.id] : []), q.limit + 1]),
            )
          : await this.all<HitRow>(
              raw(
                `SELECT * FROM (${inner}) AS hit${cursor ? ' WHERE hit.score > ? OR (hit.score = ? AND hit.id < ?)' : ''} ORDER BY hit.score, hit.id DESC LIMIT ?`,
                [...innerParams, ...(cursor ? [cursor.score, cursor.score, cursor.id] : []), q.limit + 1],
              ),
            );
    }
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
}

type Sql = { sql: string; params: unknown[] };

/**
 * Search where the database cannot stop a word's matches at the page's end (SqlAdapter.searchSorted,
 * PostgreSQL): the matches are sorted alone — `hit` (rowid, score, k) in the order of `k` — and
 * joined to their messages and the membership in that order until the page is full.
 */
class SortedSearch {
  constructor(
    private readonly db: SqlRunner,
    private readonly visible: string,
    private readonly visibleParams: readonly unknown[],
    private readonly match: Sql,
    private readonly limit: number,
  ) {}

  /**
   * At most `n` visible hits of `hits` (rows of rowid, score and k) in `order` (of those columns):
   * sorted alone under their own LIMIT, which the joins then keep instead of sorting after them.
   */
  #page(hits: Sql, order: readonly string[], n: number, after: Sql = { sql: '', params: [] }): Promise<HitRow[]> {
    return this.db.all<HitRow>(
      raw(
        `SELECT ${MESSAGE_COLUMNS_OF_M}, hit.score AS score FROM (${hits.sql} ORDER BY ${order.join(', ')} LIMIT ${Number.MAX_SAFE_INTEGER}) AS hit
         ${this.visible}${after.sql} ORDER BY ${order.map((o) => 'hit.' + o).join(', ')} LIMIT ?`,
        [...hits.params, ...this.visibleParams, ...after.params, n],
      ),
    );
  }

  /** By score, then newest: every match is ranked, then the page joined. */
  ranked(score: Sql, cursor: { score: number; id: number } | null): Promise<HitRow[]> {
    const ranked = {
      sql: `SELECT rowid, ${score.sql} AS score, 0 AS k FROM message_search WHERE ${this.match.sql}`,
      params: [...score.params, ...this.match.params],
    };
    const after = cursor ? { sql: ' AND (hit.score > ? OR (hit.score = ? AND hit.rowid < ?))', params: [cursor.score, cursor.score, cursor.id] } : undefined;
    return this.#page(ranked, ['score', 'rowid DESC'], this.limit, after);
  }

  /**
   * Newest first below the id `before`: the newest rows of the index (in one conversation, of
   * its messages) read along their key and tested one by one, `plan.walks` rows deep in all after
   * each stage; if the page is still not full, the word index's matches below them. `words`: each
   * word's match alone, and `wordsOnly` all of them, without the conversation's term (the walk
   * and the join keep to the conversation). The first stage's rows, the newest, are a sample:
   * from how many hold each word, the word index is asked at once for a rare word (a word
   * nobody wrote: at once nothing), and only for the rarest words, the others tested on their
   * few matches (SortedSearchPlan).
   */
  async newest(before: number | undefined, conversationId: Id | undefined, plan: SortedSearchPlan, words: readonly Sql[], wordsOnly: Sql): Promise<HitRow[]> {
    const walks = conversationId === undefined ? plan.walks : plan.walksInConversation;
    let top = before ?? Number.MAX_SAFE_INTEGER;
    // What the word index is asked for: all the words, or the rarest of them (below).
    let asked: readonly Sql[] = words;
    const out: HitRow[] = [];
    for (const [i, depth] of walks.entries()) {
      const rows = depth - (walks[i - 1] ?? 0);
      // The inner LIMIT keeps the walk apart: the word index is not asked, the key is read in order.
      const walked =
        conversationId === undefined
          ? { sql: `SELECT rowid, terms, rowid AS k FROM message_search WHERE rowid < ? ORDER BY rowid DESC LIMIT ${rows | 0}`, params: [top] }
          : {
              // Ids grow with seq in a conversation: its (conversation_id, seq) key gives them newest first.
              sql: `SELECT s.rowid, s.terms, w.seq AS k FROM messages w JOIN message_search s ON s.rowid = w.id WHERE w.conversation_id = ? AND w.id < ? ORDER BY w.seq DESC LIMIT ${rows | 0}`,
              params: [conversationId, top],
            };
      const hits = { sql: `SELECT rowid, 0 AS score, k FROM (${walked.sql}) AS message_search WHERE ${wordsOnly.sql}`, params: [...walked.params, ...wordsOnly.params] };
      out.push(...(await this.#page(hits, ['k DESC'], this.limit - out.length)));
      if (out.length === this.limit) return out;
      // Where the walk stopped (fewer rows than asked: it reached the first one) and, after the
      // first stage, how many of its rows hold each word and all of them (the same rows, cached).
      const sample = i > 0 ? [] : words.length > 1 ? [...words, wordsOnly] : words;
      const [end] = await this.db.all<Record<string, number | string | null>>(
        raw(
          `SELECT ${sample.map((w, j) => `count(*) FILTER (WHERE ${w.sql}) AS s${j}, `).join('')}min(rowid) AS bottom, count(*) AS walked FROM (${walked.sql}) AS message_search`,
          [...sample.flatMap((w) => w.params), ...walked.params],
        ),
      );
      const n = Number(end.walked);
      if (n < rows) return out;
      top = Number(end.bottom);
      if (i > 0) continue;
      const held = words.map((_, j) => Number(end[`s${j}`]));
      const all = words.length > 1 ? Number(end[`s${words.length}`]) : held[0];
      const rarest = Math.min(...held);
      asked = words.filter((_, j) => held[j] + 1 <= plan.rareRatio * (rarest + 1));
      // Ids are dense enough to count the rows below `top`: the rarest word's matches there if
      // the sample is fair, against the rows the walk would still read to fill the page.
      const matches = ((rarest + 1) / (n + 1)) * top;
      const toWalk = Math.min((walks.at(-1) ?? 0) - depth, ((this.limit - out.length) * (n + 1)) / (all + 1));
      if (matches * plan.ginCost < toWalk) break;
      // In none of the sampled rows, perhaps in none at all: its matches are counted, up to what
      // the walk would cost (GIN's bitmap of a rare word is small, the heap rows bounded).
      const cap = Math.floor(toWalk / plan.ginCost);
      if (rarest === 0 && cap >= 1 && Number.isFinite(cap)) {
        const { index } = this.#older(words, asked, wordsOnly, top);
        const [probe] = await this.db.all<{ matches: number | string }>(
          raw(`SELECT count(*) AS matches FROM (SELECT 1 FROM message_search WHERE ${index.sql} LIMIT ${cap}) AS g`, index.params),
        );
        if (Number(probe.matches) === 0) return out;
        if (Number(probe.matches) < cap) break;
      }
    }
    const older = this.#older(words, asked, wordsOnly, top).hits;
    return [...out, ...(await this.#page(older, ['k DESC'], this.limit - out.length))];
  }

  /**
   * The word index's matches below `top`: `index`, the rows it is asked for (`asked`, some of
   * `words`), and `hits`, those holding every word (rowid, score and k, newest first by k).
   */
  #older(words: readonly Sql[], asked: readonly Sql[], wordsOnly: Sql, top: number): { index: Sql; hits: Sql } {
    const index = { sql: `${asked.map((w) => w.sql).join(' AND ')} AND rowid < ?`, params: [...asked.flatMap((w) => w.params), top] };
    // rowid + 0: no btree order to walk instead of the word index. Without the conversation's
    // term: GIN would read all of its matches (500k of a large conversation, 14 ms at 1M) where
    // the words' rarely number a thousand; the join keeps the conversation's.
    if (asked.length === words.length) return { index, hits: { sql: `SELECT rowid, 0 AS score, rowid + 0 AS k FROM message_search WHERE ${index.sql}`, params: index.params } };
    // A LIMIT keeps the other words out of the index scan: they are tested on its few matches.
    return {
      index,
      hits: {
        sql: `SELECT rowid, 0 AS score, rowid + 0 AS k FROM (SELECT rowid, terms FROM message_search WHERE ${index.sql} LIMIT ${Number.MAX_SAFE_INTEGER}) AS message_search WHERE ${wordsOnly.sql}`,
        params: [...index.params, ...wordsOnly.params],
      },
    };
  }
}
