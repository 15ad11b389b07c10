import { v7 as uuidv7 } from 'uuid';
import type { ConversationRef } from '../../../core/events.js';
import type { Conversation, Id, Millis, Visibility } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import { logEvents } from './outbox.js';
import { UniqueViolation, type ConversationStore, type NewConversation } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { recomputePushAll } from './notifications.js';
import { directoryNameKey } from './directory.js';
import { pair, toConversation, toSummary } from './rows.js';

/** Conversations themselves; their participants are SqlParticipants'. */
export class SqlConversations extends SqlAggregate implements ConversationStore {
  async createConversation(c: NewConversation, at: Millis): Promise<Conversation> {
    let directKey: string | null = null;
    if (c.kind === 'direct') {
      const [x, y] = pair(c.participants[0].userId, c.participants[1].userId);
      directKey = `${x}:${y}`;
      const existing = await this.directConversation(c.tenantId, x, y);
      if (existing) return existing;
    }
    const uuid = uuidv7();
    try {
      await this.runner.transaction(async (tx) => {
        const row = await this.first(
          this.db
            .insertInto('conversations')
            .values({
              uuid,
              tenant_id: c.tenantId,
              kind: c.kind,
              title: c.title,
              created_by: c.createdBy,
              direct_key: directKey,
              last_seq: 0,
              change_seq: 0,
              last_message_at: null,
              created_at: at,
              updated_at: at,
              deleted_at: null,
              member_count: new Set(c.participants.map((p) => p.userId)).size,
              visibility: c.visibility ?? 'private',
              metadata: c.metadataJson ?? null,
              name_key: directoryNameKey(c.title),
            })
            .returning('id'),
          tx,
        );
        await tx.run(
          this.db
            .insertInto('participants')
            .values(
              c.participants.map((p) => ({
                conversation_id: row!.id,
                user_id: p.userId,
                role: p.role,
                joined_at: at,
                left_at: null,
                muted: 0,
                read_seq: 0,
                delivered_seq: 0,
                read_at: null,
              })),
            )
            .compile(),
        );
        // A new member whose own level is `all` is a candidate for every message's push at once.
        await recomputePushAll(tx, this.adapter, [...new Set(c.participants.map((p) => p.userId))].map((userId) => [row!.id, userId] as const));
        await this.#log(tx, row!.id, 'conversation.created', at);
      });
    } catch (e) {
      // Two first contacts at once: the other one won; theirs is the conversation.
      if (directKey && e instanceof UniqueViolation) {
        const [x, y] = directKey.split(':').map(Number);
        const existing = await this.directConversation(c.tenantId, x, y);
        if (existing) return existing;
      }
      throw e;
    }
    return (await this.conversationByUuid(uuid))!;
  }

  async directConversation(tenantId: Id, a: Id, b: Id): Promise<Conversation | undefined> {
    const [x, y] = pair(a, b);
    const r = await this.first(
      this.db
        .selectFrom('conversations')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('direct_key', '=', `${x}:${y}`)
        .where('deleted_at', 'is', null),
    );
    return r && toConversation(r);
  }

  async conversationById(id: Id): Promise<Conversation | undefined> {
    if (!Number.isSafeInteger(id)) return undefined; // see SqlMessages.messageById
    const r = await this.first(this.fixed('conversationById', [id], () => this.db.selectFrom('conversations').selectAll().where('id', '=', id).where('deleted_at', 'is', null)));
    return r && toConversation(r);
  }

  async conversationByUuid(uuid: string): Promise<Conversation | undefined> {
    const r = await this.first(this.db.selectFrom('conversations').selectAll().where('uuid', '=', uuid).where('deleted_at', 'is', null));
    return r && toConversation(r);
  }

  async conversationRef(key: Id | string): Promise<ConversationRef | undefined> {
    if (typeof key === 'number' && !Number.isSafeInteger(key)) return undefined; // see SqlMessages.messageById
    const q = () => this.db.selectFrom('conversations').select(['id', 'uuid', 'tenant_id', 'kind']);
    const r = await this.first(typeof key === 'number' ? this.fixed('conversationRefById', [key], () => q().where('id', '=', key)) : this.fixed('conversationRefByUuid', [key], () => q().where('uuid', '=', key)));
    if (!r) return undefined;
    const id = Number(r.id);
    let people: ConversationRef['pair'] = null;
    if (r.kind === 'direct') {
      // Whoever ever took part: a direct conversation's two never leave it.
      const users = await this.all(
        this.fixed('pairOf', [id], () =>
        this.db
          .selectFrom('participants as p')
          .innerJoin('users as u', 'u.id', 'p.user_id')
          .select(['u.id', 'u.uuid', 'u.name', 'u.email', 'u.avatar_url', 'u.is_bot'])
          .where('p.conversation_id', '=', id)
          .orderBy('u.id')),
      );
      if (users.length === 2) people = [toSummary(users[0]), toSummary(users[1])];
    }
    return { id, uuid: r.uuid, tenantId: Number(r.tenant_id), kind: r.kind as ConversationRef['kind'], pair: people };
  }

  async updateConversation(conversationId: Id, changes: { title?: string | null; visibility?: Visibility; metadataJson?: string | null }, at: Millis): Promise<Conversation | undefined> {
    await this.runner.transaction(async (tx) => {
      let n = 0;
      if (changes.title !== undefined) {
        n += await tx.run(
          raw('UPDATE conversations SET title = ?, name_key = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [changes.title, directoryNameKey(changes.title), at, conversationId]),
        );
      }
      if (changes.metadataJson !== undefined) {
        n += await tx.run(raw('UPDATE conversations SET metadata = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [changes.metadataJson, at, conversationId]));
      }
      if (changes.visibility !== undefined) {
        n += await tx.run(raw('UPDATE conversations SET visibility = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [changes.visibility, at, conversationId]));
      }
      if (n > 0) await this.#log(tx, conversationId, 'conversation.updated', at);
    });
    return this.conversationById(conversationId);
  }

  async deleteConversation(conversationId: Id, at: Millis): Promise<void> {
    await this.runner.transaction(async (tx) => {
      const n = await tx.run(raw('UPDATE conversations SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [at, at, conversationId]));
      if (n > 0) await this.#log(tx, conversationId, 'conversation.deleted', at);
    });
  }

  /** The change's event, with the conversation as it now is in `tx`. */
  async #log(tx: SqlRunner, conversationId: Id, type: 'conversation.created' | 'conversation.updated' | 'conversation.deleted', at: Millis): Promise<void> {
    const row = await this.first(this.db.selectFrom('conversations').selectAll().where('id', '=', conversationId), tx);
    const conversation = toConversation(row!);
    await logEvents(tx, this.ctx, [{ conversationId, tenantId: conversation.tenantId, type, payload: { conversation }, at }]);
  }
}
