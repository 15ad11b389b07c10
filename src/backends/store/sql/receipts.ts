import type { Id, Millis } from '../../../core/model.js';
import { raw } from '../sql-runner.js';
import type { ReceiptStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';

/** Each participant's watermarks: delivered_seq and read_seq, never past last_seq, never back. */
export class SqlReceipts extends SqlAggregate implements ReceiptStore {
  async markRead(conversationId: Id, userId: Id, seq: number, at: Millis): Promise<number | null> {
    const { greatest, least } = this.adapter;
    const upTo = least('?', 'last_seq');
    const r = await this.first<{ read_seq: number }>(
      raw(
        `UPDATE participants SET
           read_seq = (SELECT ${upTo} FROM conversations WHERE id = ?),
           delivered_seq = ${greatest('delivered_seq', `(SELECT ${upTo} FROM conversations WHERE id = ?)`)},
           read_at = ?
         WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL
           AND read_seq < (SELECT ${upTo} FROM conversations WHERE id = ?)
         RETURNING read_seq`,
        [seq, conversationId, seq, conversationId, at, conversationId, userId, seq, conversationId],
      ),
    );
    return r ? r.read_seq : null;
  }

  async markDelivered(updates: readonly { conversationId: Id; userId: Id; seq: number }[]): Promise<void> {
    if (updates.length === 0) return;
    const { greatest, least } = this.adapter;
    // Rows are locked in (conversation, user) order, the order appendMessages uses, so the
    // two never deadlock on PostgreSQL; then one statement for all of them.
    const ordered = [...updates].sort((a, b) => a.conversationId - b.conversationId || a.userId - b.userId);
    await this.runner.transaction(async (tx) => {
      await this.adapter.lockInOrder(tx, 'participants', 'conversation_id, user_id', ordered.map((u) => [u.conversationId, u.userId]));
      // Capped at last_seq, like markRead (Store contract: never past last_seq).
      await tx.run(
        raw(
          `UPDATE participants SET delivered_seq = ${greatest('participants.delivered_seq', least('v.column3', 'conversations.last_seq'))}
           FROM (VALUES ${this.adapter.valueRows(ordered.length, ['BIGINT', 'BIGINT', 'BIGINT'])}) AS v, conversations
           WHERE participants.conversation_id = v.column1 AND participants.user_id = v.column2 AND conversations.id = v.column1`,
          ordered.flatMap((u) => [u.conversationId, u.userId, u.seq]),
        ),
      );
    });
  }
}
