import { v7 as uuidv7 } from 'uuid';
import type { Attachment, Conversation, Id, Message, Millis, ReactionSummary } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import { StoreError, type MessageStore } from '../store.js';
import { SqlAggregate, type SqlContext } from './aggregate.js';
import { indexMessages, unindexMessage } from './search.js';
import { MESSAGE_COLUMNS, MESSAGE_COLUMN_LIST, placeholders, toAttachment, toMessage, type AttachmentRow, type MessageRow } from './rows.js';
import { logEvents, type OutboxEvent } from './outbox.js';

/** Thrown inside a change's transaction to roll it back when it would change nothing. */
class NoChange extends Error {}

/**
 * Message rows → messages, with their reply parents' uuids, attachments and reactions: one
 * query each for the whole list.
 */
export async function hydrateMessages(ctx: SqlContext, rows: readonly MessageRow[], r: SqlRunner = ctx.runner): Promise<Message[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((m) => m.id);
  const parents = [...new Set(rows.flatMap((m) => (m.reply_to_id != null ? [m.reply_to_id] : [])))];
  const uuidOf = new Map<Id, string>();
  if (parents.length > 0) {
    const found = await r.all<{ id: number; uuid: string }>(raw(`SELECT id, uuid FROM messages WHERE id IN (${placeholders(parents.length)})`, parents));
    for (const p of found) uuidOf.set(p.id, p.uuid);
  }
  // Written out, not built: every history page, resume and room list runs these two.
  const inIds = placeholders(ids.length);
  const [atts, reacts] = await Promise.all([
    r.all<AttachmentRow & { message_id: Id }>(raw(`SELECT * FROM attachments WHERE message_id IN (${inIds}) ORDER BY message_id, "position"`, ids)),
    r.all<{ message_id: Id; user_id: Id; emoji: string }>(raw(`SELECT message_id, user_id, emoji FROM reactions WHERE message_id IN (${inIds}) ORDER BY id`, ids)),
  ]);
  const attBy = new Map<Id, Attachment[]>();
  for (const a of atts) {
    let list = attBy.get(a.message_id);
    if (!list) attBy.set(a.message_id, (list = []));
    list.push(toAttachment(a));
  }
  const reactBy = new Map<Id, ReactionSummary[]>();
  for (const x of reacts) {
    let list = reactBy.get(x.message_id);
    if (!list) reactBy.set(x.message_id, (list = []));
    let entry = list.find((e) => e.emoji === x.emoji);
    if (!entry) list.push((entry = { emoji: x.emoji, userIds: [] }));
    entry.userIds.push(x.user_id);
  }
  return rows.map((m) =>
    toMessage(m, m.reply_to_id != null ? (uuidOf.get(m.reply_to_id) ?? null) : null, m.deleted_at == null ? (attBy.get(m.id) ?? []) : [], reactBy.get(m.id) ?? []),
  );
}

/** Messages: reads by id, seq range and change, and the changes (edit, delete, reactions); the append is SqlAppend's (append.ts). */
export class SqlMessages extends SqlAggregate implements Omit<MessageStore, 'appendMessages' | 'searchRowOf'> {
  #hydrate(rows: readonly MessageRow[], r?: SqlRunner): Promise<Message[]> {
    return hydrateMessages(this.ctx, rows, r);
  }

  async messageById(id: Id): Promise<Message | undefined> {
    // An id no row can have (1e20 from a client) is simply not found, on both databases:
    // PostgreSQL would otherwise refuse it as a bigint and answer a 500.
    if (!Number.isSafeInteger(id)) return undefined;
    const rows = await this.all<MessageRow>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [id]));
    return (await this.#hydrate(rows))[0];
  }

  async messageByUuid(uuid: string): Promise<Message | undefined> {
    const rows = await this.all<MessageRow>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE uuid = ?`, [uuid]));
    return (await this.#hydrate(rows))[0];
  }

  async messagesBySeq(conversationId: Id, fromSeq: number, toSeq: number): Promise<Message[]> {
    if (toSeq < fromSeq) return [];
    const rows = await this.all<MessageRow>(
      raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq >= ? AND seq <= ? ORDER BY seq DESC`, [conversationId, fromSeq, toSeq]),
    );
    return this.#hydrate(rows);
  }

  async lastMessages(conversations: readonly Conversation[]): Promise<Map<Id, Message>> {
    const out = new Map<Id, Message>();
    const withMessages = conversations.filter((c) => c.lastSeq > 0);
    if (withMessages.length === 0) return out;
    const rows = await this.all<MessageRow>(
      raw(
        this.adapter.lastMessagesSql(withMessages.length, MESSAGE_COLUMN_LIST),
        withMessages.flatMap((c) => [c.id, c.lastSeq]),
      ),
    );
    for (const m of await this.#hydrate(rows)) out.set(m.conversationId, m);
    return out;
  }

  async changesSince(conversationId: Id, afterChangeSeq: number, limit: number, maxSeq: number): Promise<Message[]> {
    // Only messages changed since their append are in the (partial) change index: `unchanged IS NULL`
    // names it; maxSeq only filters the (conversation_id, change_seq) range.
    const rows = await this.all<MessageRow>(
      raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND change_seq > ? AND unchanged IS NULL AND seq <= ? ORDER BY change_seq ASC LIMIT ?`, [
        conversationId,
        afterChangeSeq,
        maxSeq,
        limit,
      ]),
    );
    return this.#hydrate(rows);
  }

  /**
   * Takes the conversation's next change_seq and applies `change` to the message, in one
   * transaction. The message is read only after the conversation's row is locked (the
   * UPDATE that takes the change_seq): every change of a conversation queues on that lock, so
   * `change` decides on the message as the previous change left it — an edit racing a delete
   * sees the delete, two deletes see each other (PostgreSQL reads each statement afresh).
   */
  async #change(
    messageId: Id,
    at: Millis,
    change: (tx: SqlRunner, row: MessageRow) => Promise<boolean>,
    logged: (message: Message) => Pick<OutboxEvent, 'type' | 'payload'>,
  ): Promise<{ message: Message; changed: boolean }> {
    return this.runner
      .transaction(async (tx) => {
        // A message never moves to another conversation: this read needs no lock.
        const where = (await tx.all<{ conversation_id: number }>(raw('SELECT conversation_id FROM messages WHERE id = ?', [messageId])))[0];
        if (!where) throw new StoreError('message_not_found');
        const cs = (
          await tx.all<{ change_seq: number }>(
            raw('UPDATE conversations SET change_seq = change_seq + 1, updated_at = ? WHERE id = ? RETURNING change_seq', [at, where.conversation_id]),
          )
        )[0].change_seq;
        const row = (await tx.all<MessageRow>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [messageId])))[0];
        const changed = await change(tx, row);
        if (!changed) throw new NoChange();
        // Changed: into the change index, where changesSince finds it.
        await tx.run(raw('UPDATE messages SET change_seq = ?, unchanged = NULL WHERE id = ?', [cs, messageId]));
        const after = await tx.all<MessageRow>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [messageId]));
        const message = (await this.#hydrate(after, tx))[0];
        await logEvents(tx, this.ctx, [{ conversationId: message.conversationId, at, ...logged(message) }]);
        return { message, changed: true };
      })
      .catch(async (e) => {
        // Nothing to change: roll back the change_seq we took, report the message as it is.
        if (e instanceof NoChange) return { message: (await this.messageById(messageId))!, changed: false };
        throw e;
      });
  }

  async editMessage(messageId: Id, content: string, at: Millis, metadataJson?: string | null): Promise<Message> {
    const r = await this.#change(messageId, at, async (tx, row) => {
      if (row.deleted_at != null) throw new StoreError('message_deleted');
      // The text it replaces is kept as a revision (curation.ts reads them), in this transaction.
      await tx.run(
        raw('INSERT INTO message_revisions (message_id, editor_id, content, written_at, replaced_at) VALUES (?, ?, ?, ?, ?)', [
          messageId,
          row.sender_id,
          row.content ?? '',
          row.edited_at ?? row.created_at,
          at,
        ]),
      );
      await tx.run(raw('UPDATE messages SET content = ?, edited_at = ? WHERE id = ?', [content, at, messageId]));
      if (metadataJson !== undefined) await tx.run(raw('UPDATE messages SET metadata = ? WHERE id = ?', [metadataJson, messageId]));
      // The index follows the edit in its transaction: the old words are found no more.
      const files = await tx.all<{ file_name: string }>(raw('SELECT file_name FROM attachments WHERE message_id = ? ORDER BY position', [messageId]));
      await unindexMessage(tx, messageId);
      await indexMessages(tx, this.adapter, [{ id: messageId, conversationId: row.conversation_id, content, fileNames: files.map((f) => f.file_name) }]);
      return true;
    }, (message) => ({ type: 'message.updated', payload: { message } }));
    return r.message;
  }

  async deleteMessage(messageId: Id, at: Millis): Promise<{ message: Message; changed: boolean }> {
    return this.#change(messageId, at, async (tx, row) => {
      if (row.deleted_at != null) return false;
      await tx.run(raw('UPDATE messages SET content = NULL, deleted_at = ? WHERE id = ?', [at, messageId]));
      // Deleted for everyone: its earlier texts and its pins go with its text.
      await tx.run(raw('DELETE FROM message_revisions WHERE message_id = ?', [messageId]));
      await tx.run(raw('DELETE FROM pins WHERE conversation_id = ? AND message_id = ?', [row.conversation_id, messageId]));
      await unindexMessage(tx, messageId);
      if (row.reply_to_id != null) {
        await tx.run(raw('UPDATE messages SET reply_count = reply_count - 1 WHERE id = ? AND reply_count > 0', [row.reply_to_id]));
      }
      return true;
    }, (message) => ({ type: 'message.deleted', payload: { message } }));
  }

  async setReaction(messageId: Id, userId: Id, emoji: string, on: boolean, at: Millis): Promise<{ message: Message; changed: boolean }> {
    return this.#change(messageId, at, async (tx, row) => {
      if (row.deleted_at != null) throw new StoreError('message_deleted');
      if (on) {
        const n = await tx.run(
          this.db
            .insertInto('reactions')
            .values({ uuid: uuidv7(), message_id: messageId, user_id: userId, emoji, created_at: at })
            .onConflict((oc) => oc.columns(['message_id', 'user_id', 'emoji']).doNothing())
            .compile(),
        );
        return n > 0;
      }
      const n = await tx.run(this.db.deleteFrom('reactions').where('message_id', '=', messageId).where('user_id', '=', userId).where('emoji', '=', emoji).compile());
      return n > 0;
    }, (message) => ({ type: on ? 'reaction.added' : 'reaction.removed', payload: { message, userId, emoji } }));
  }

  async addMentions(messageId: Id, userIds: readonly Id[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.runner.run(
      this.db
        .insertInto('mentions')
        .values(userIds.map((u) => ({ message_id: messageId, user_id: u })))
        .onConflict((oc) => oc.columns(['message_id', 'user_id']).doNothing())
        .compile(),
    );
  }
}
