import type { Id } from '../../../core/model.js';
import { raw } from '../sql-runner.js';
import type { UnreadState, UnreadStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';

/** One user's unread state in `n` conversations (parameters: the user, then the conversation ids). */
export const unreadStatesSql = (n: number) =>
  `SELECT p.conversation_id, p.seen_seq, c.last_seq,
     (SELECT count(*) FROM messages d WHERE d.conversation_id = p.conversation_id AND d.seq > p.seen_seq AND d.deleted_at IS NOT NULL) AS deleted_above,
     (SELECT f.seq FROM messages f WHERE f.conversation_id = p.conversation_id AND f.seq > p.seen_seq AND f.deleted_at IS NULL ORDER BY f.seq LIMIT 1) AS first_unread
   FROM participants p JOIN conversations c ON c.id = p.conversation_id
   WHERE p.user_id = ? AND p.left_at IS NULL AND p.conversation_id IN (${new Array(n).fill('?').join(', ')})`;

/**
 * Each participant's own place (seen_seq) and what lies above it. An unread count is
 * last_seq − seen_seq less the deleted messages above seen_seq, counted through an index of
 * deleted messages only (messages_deleted_seq): nothing is kept that could drift, and a room
 * list reads no message that is not deleted, however long the conversation (a kept counter
 * would cost a write per member on every send and a recount on every read).
 */
export class SqlUnread extends SqlAggregate implements UnreadStore {
  async unreadStates(userId: Id, conversationIds: readonly Id[]): Promise<Map<Id, UnreadState>> {
    const out = new Map<Id, UnreadState>();
    const ids = [...new Set(conversationIds)];
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const rows = await this.all<{ conversation_id: number; seen_seq: number; last_seq: number; deleted_above: number; first_unread: number | null }>(
        raw(unreadStatesSql(chunk.length), [userId, ...chunk]),
      );
      for (const r of rows) {
        const seen = Math.min(Number(r.seen_seq), Number(r.last_seq));
        out.set(Number(r.conversation_id), {
          seenSeq: seen,
          unreadCount: Math.max(0, Number(r.last_seq) - seen - Number(r.deleted_above)),
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
