import type { Id } from '../../../core/model.js';
import { raw } from '../sql-runner.js';
import type { UnreadState, UnreadStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';

/**
 * What a conversation's unread count leaves out whatever the reader: deleted messages and
 * thread replies (a reply counts in its thread's unread, as in Slack's and Mattermost's
 * collapsed threads). Written as messages_uncounted_seq's condition (migration 0017), so the
 * count reads that index only.
 */
export const UNCOUNTED_MESSAGE = (m: string) => `(${m}.deleted_at IS NOT NULL OR ${m}.reply_to_id IS NOT NULL)`;

/**
 * One user's unread state in `n` conversations (parameters: the user, then the conversation
 * ids), or in every live conversation of theirs when `n` is absent (the push badge).
 */
export const unreadStatesSql = (n?: number) =>
  `SELECT p.conversation_id, p.seen_seq, c.last_seq,
     (SELECT count(*) FROM messages d WHERE d.conversation_id = p.conversation_id AND d.seq > p.seen_seq AND ${UNCOUNTED_MESSAGE('d')}) AS uncounted_above,
     (SELECT count(*) FROM message_hides h JOIN messages hm ON hm.id = h.message_id
       WHERE h.user_id = p.user_id AND h.conversation_id = p.conversation_id AND h.seq > p.seen_seq AND hm.deleted_at IS NULL AND hm.reply_to_id IS NULL) AS hidden_above,
     (SELECT f.seq FROM messages f WHERE f.conversation_id = p.conversation_id AND f.seq > p.seen_seq AND f.deleted_at IS NULL AND f.reply_to_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM message_hides fh WHERE fh.user_id = p.user_id AND fh.message_id = f.id) ORDER BY f.seq LIMIT 1) AS first_unread
   FROM participants p JOIN conversations c ON c.id = p.conversation_id
   WHERE p.user_id = ? AND p.left_at IS NULL AND ${n === undefined ? 'c.deleted_at IS NULL' : `p.conversation_id IN (${new Array(n).fill('?').join(', ')})`}`;

/** last_seq − seen_seq less what above seen_seq is not counted (see SqlUnread). */
export const unreadCountOf = (r: { seen_seq: number; last_seq: number; uncounted_above: number; hidden_above: number }): number =>
  Math.max(0, Number(r.last_seq) - Math.min(Number(r.seen_seq), Number(r.last_seq)) - Number(r.uncounted_above) - Number(r.hidden_above));

/**
 * Each participant's own place (seen_seq) and what lies above it. An unread count is
 * last_seq − seen_seq less what above seen_seq is not counted: deleted messages and thread
 * replies (through an index of those only, messages_uncounted_seq) and the messages the
 * reader deleted for themselves (their own message_hides rows). Nothing is kept that could
 * drift, and a room list reads no message that is counted, however long the conversation (a
 * kept counter would cost a write per member on every send and a recount on every read).
 */
export class SqlUnread extends SqlAggregate implements UnreadStore {
  async unreadStates(userId: Id, conversationIds: readonly Id[]): Promise<Map<Id, UnreadState>> {
    const out = new Map<Id, UnreadState>();
    const ids = [...new Set(conversationIds)];
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const rows = await this.all<{ conversation_id: number; seen_seq: number; last_seq: number; uncounted_above: number; hidden_above: number; first_unread: number | null }>(
        raw(unreadStatesSql(chunk.length), [userId, ...chunk]),
      );
      for (const r of rows) {
        const seen = Math.min(Number(r.seen_seq), Number(r.last_seq));
        out.set(Number(r.conversation_id), {
          seenSeq: seen,
          unreadCount: unreadCountOf(r),
          firstUnreadSeq: r.first_unread == null ? null : Number(r.first_unread),
        });
      }
    }
    return out;
  }

  async raiseSeen(conversationId: Id, userId: Id, seq: number): Promise<number | null> {
    const upTo = `(SELECT ${this.adapter.least('?', 'last_seq')} FROM conversations WHERE id = ?)`;
    const r = await this.first<{ seen_seq: number }>(
      raw(
        `UPDATE participants SET seen_seq = ${upTo}
         WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL AND seen_seq < ${upTo}
         RETURNING seen_seq`,
        [seq, conversationId, conversationId, userId, seq, conversationId],
      ),
    );
    return r ? Number(r.seen_seq) : null;
  }

  async lowerSeen(conversationId: Id, userId: Id, seq: number): Promise<number | null> {
    const r = await this.first<{ seen_seq: number }>(
      raw(
        `UPDATE participants SET seen_seq = ?
         WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL AND seen_seq > ?
         RETURNING seen_seq`,
        [seq, conversationId, userId, seq],
      ),
    );
    return r ? Number(r.seen_seq) : null;
  }
}
