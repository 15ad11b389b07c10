import type { Id, Message, Millis } from '../../../core/model.js';
import { raw } from '../sql-runner.js';
import type { CurationStore, Pin, Revision, SavedCursor, SavedMessage } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { hydrateMessages } from './messages.js';
import { MESSAGE_COLUMNS_OF_M, type MessageRow } from './rows.js';

/**
 * Edit history, delete for me, pins and saved messages. The revisions are written by the
 * edit itself (SqlMessages.editMessage) and removed by a delete for everyone; the rest
 * lives here.
 */
export class SqlCuration extends SqlAggregate implements CurationStore {
  async revisions(messageId: Id): Promise<Revision[]> {
    const rows = await this.all(
      this.db.selectFrom('message_revisions').select(['message_id', 'editor_id', 'content', 'written_at', 'replaced_at']).where('message_id', '=', messageId).orderBy('id'),
    );
    return rows.map((r) => ({ messageId: r.message_id, editorId: r.editor_id, content: r.content, writtenAt: Number(r.written_at), replacedAt: Number(r.replaced_at) }));
  }

  async hideMessage(userId: Id, message: Pick<Message, 'id' | 'conversationId' | 'seq'>, at: Millis): Promise<boolean> {
    const n = await this.runner.run(
      this.db
        .insertInto('message_hides')
        .values({ user_id: userId, message_id: message.id, conversation_id: message.conversationId, seq: message.seq, hidden_at: at })
        .onConflict((oc) => oc.columns(['user_id', 'message_id']).doNothing())
        .compile(),
    );
    return n > 0;
  }

  async hidersOf(messageId: Id): Promise<Id[]> {
    const rows = await this.all(this.db.selectFrom('message_hides').select('user_id').where('message_id', '=', messageId));
    return rows.map((r) => Number(r.user_id));
  }

  async hiddenMessageIds(userId: Id, messageIds: readonly Id[]): Promise<Set<Id>> {
    if (messageIds.length === 0) return new Set();
    const ids = [...messageIds];
    const rows = await this.all(
      this.fixed(`hiddenMessageIds:${ids.length}`, [userId, ...ids], () => this.db.selectFrom('message_hides').select('message_id').where('user_id', '=', userId).where('message_id', 'in', ids)),
    );
    return new Set(rows.map((r) => Number(r.message_id)));
  }

  async newestUnhidden(userId: Id, conversationId: Id, maxSeq: number): Promise<Message | undefined> {
    const rows = await this.all<MessageRow>(
      raw(
        `SELECT ${MESSAGE_COLUMNS_OF_M} FROM messages m WHERE m.conversation_id = ? AND m.seq <= ?
           AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = ? AND h.message_id = m.id)
         ORDER BY m.seq DESC LIMIT 1`,
        [conversationId, maxSeq, userId],
      ),
    );
    return (await hydrateMessages(this.ctx, rows))[0];
  }

  async pinMessage(message: Pick<Message, 'id' | 'conversationId'>, userId: Id, at: Millis): Promise<boolean> {
    const n = await this.runner.run(
      this.db
        .insertInto('pins')
        .values({ conversation_id: message.conversationId, message_id: message.id, pinned_by: userId, pinned_at: at })
        .onConflict((oc) => oc.columns(['conversation_id', 'message_id']).doNothing())
        .compile(),
    );
    return n > 0;
  }

  async unpinMessage(message: Pick<Message, 'id' | 'conversationId'>): Promise<boolean> {
    const n = await this.runner.run(this.db.deleteFrom('pins').where('conversation_id', '=', message.conversationId).where('message_id', '=', message.id).compile());
    return n > 0;
  }

  async pins(conversationId: Id): Promise<Pin[]> {
    const rows = await this.all<MessageRow & { pinned_by: number; pinned_at: number }>(
      raw(
        `SELECT ${MESSAGE_COLUMNS_OF_M}, p.pinned_by, p.pinned_at FROM pins p JOIN messages m ON m.id = p.message_id
         WHERE p.conversation_id = ? AND m.deleted_at IS NULL ORDER BY p.pinned_at DESC, p.message_id DESC`,
        [conversationId],
      ),
    );
    const messages = await hydrateMessages(this.ctx, rows);
    return rows.map((r, i) => ({ message: messages[i], pinnedBy: Number(r.pinned_by), pinnedAt: Number(r.pinned_at) }));
  }

  async saveMessage(userId: Id, message: Pick<Message, 'id' | 'conversationId'>, at: Millis): Promise<boolean> {
    const n = await this.runner.run(
      this.db
        .insertInto('saved_messages')
        .values({ user_id: userId, message_id: message.id, conversation_id: message.conversationId, saved_at: at })
        .onConflict((oc) => oc.columns(['user_id', 'message_id']).doNothing())
        .compile(),
    );
    return n > 0;
  }

  async unsaveMessage(userId: Id, messageId: Id): Promise<boolean> {
    const n = await this.runner.run(this.db.deleteFrom('saved_messages').where('user_id', '=', userId).where('message_id', '=', messageId).compile());
    return n > 0;
  }

  async savedMessages(userId: Id, limit: number, before?: SavedCursor): Promise<SavedMessage[]> {
    const after = before ? ' AND (s.saved_at < ? OR (s.saved_at = ? AND s.id < ?))' : '';
    const rows = await this.all<MessageRow & { saved_id: number; saved_at: number }>(
      raw(
        `SELECT ${MESSAGE_COLUMNS_OF_M}, s.id AS saved_id, s.saved_at FROM saved_messages s
           JOIN messages m ON m.id = s.message_id
           JOIN conversations c ON c.id = s.conversation_id
           JOIN participants p ON p.conversation_id = s.conversation_id AND p.user_id = s.user_id
         WHERE s.user_id = ? AND m.deleted_at IS NULL AND c.deleted_at IS NULL AND p.left_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = s.user_id AND h.message_id = s.message_id)${after}
         ORDER BY s.saved_at DESC, s.id DESC LIMIT ?`,
        before ? [userId, before.at, before.at, before.id, limit] : [userId, limit],
      ),
    );
    const messages = await hydrateMessages(this.ctx, rows);
    return rows.map((r, i) => ({ id: Number(r.saved_id), message: messages[i], savedAt: Number(r.saved_at) }));
  }
}
