import type { Pin, Revision, SavedCursor, SavedMessage, Store } from '../../backends/store/store.js';
import { DomainError, refusal } from '../errors.js';
import type { ConversationRef, DomainEvent, EventPublisher } from '../events.js';
import type { Conversations, ConversationKey } from '../conversations/conversations.js';
import { may } from '../conversations/permissions.js';
import type { Id, Message, User, UserSummary } from '../model.js';
import type { Threads } from '../threads/threads.js';
import { Users } from '../users.js';
import type { MessageKey, Messages } from './messages.js';

/** A page of a user's saved messages, newest save first; `next`: the cursor of the following page. */
export interface SavedPage {
  items: SavedMessage[];
  senders: ReadonlyMap<Id, UserSummary>;
  next: SavedCursor | null;
}

/**
 * Edit history, delete for me, pins and saved messages (issue 18). Every read goes through
 * `Messages.get` (a participant of the message's conversation) and leaves out what the actor
 * deleted for themselves; a message deleted for everyone has no revisions, pins or saves left.
 */
export class Curation {
  constructor(
    readonly store: Store,
    readonly messages: Messages,
    readonly conversations: Conversations,
    readonly threads: Threads,
    readonly users: Users,
    readonly events: EventPublisher,
  ) {}

  /** A message the actor may see and did not delete for themselves; anything else is `message_not_found`. */
  async visible(actor: User, key: MessageKey, opts: { in?: ConversationKey } = {}): Promise<{ message: Message; conversation: ConversationRef }> {
    const found = await this.messages.get(actor, key, opts);
    if ((await this.store.hiddenMessageIds(actor.id, [found.message.id])).size > 0) throw new DomainError('message_not_found');
    return found;
  }

  /** The earlier texts of a message, oldest first: none for a deleted one. */
  async revisions(actor: User, key: MessageKey): Promise<{ message: Message; revisions: Revision[]; editors: ReadonlyMap<Id, UserSummary> }> {
    const { message } = await this.visible(actor, key);
    const revisions = message.deletedAt === null ? await this.store.revisions(message.id) : [];
    return { message, revisions, editors: await this.users.named(revisions.map((r) => r.editorId)) };
  }

  /**
   * Deletes a message for the actor only: gone from their history, room list preview,
   * catch-ups, pins and saved list; the others keep it. Their own devices are told.
   */
  async hide(actor: User, key: MessageKey, origin?: string): Promise<void> {
    const { message, conversation } = await this.messages.get(actor, key);
    if (await this.store.hideMessage(actor.id, message, Date.now())) {
      this.events.publishToUsers([actor.id], { type: 'message.hidden', conversation, messageId: message.id, messageUuid: message.uuid, userId: actor.id, origin });
      // A message that counted in its conversation's unread (or, a reply, in its thread's) may not any more.
      if (message.deletedAt !== null) return;
      if (message.replyToId === null) await this.conversations.announceUnread(actor, conversation.id);
      else await this.threads.announce(actor, message.replyToId);
    }
  }

  /** Which of these messages the user deleted for themselves. */
  hiddenIds(userId: Id, messages: readonly Message[]): Promise<Set<Id>> {
    return this.store.hiddenMessageIds(userId, messages.map((m) => m.id));
  }

  /**
   * Pins (or unpins) a message in its conversation. Anyone of a direct conversation pins;
   * in a group or channel those who may delete anyone's message (admins, moderators).
   */
  async pin(actor: User, key: MessageKey, on: boolean): Promise<void> {
    const { message, conversation } = await this.visible(actor, key);
    if (conversation.kind !== 'direct') {
      const role = await this.conversations.role(conversation.id, actor.id);
      if (!role || !may(role, 'pin_message')) throw refusal('pin_forbidden');
    }
    if (on && message.deletedAt !== null) throw new DomainError('message_deleted');
    const at = Date.now();
    const changed = on ? await this.store.pinMessage(message, actor.id, at) : await this.store.unpinMessage(message);
    if (changed) {
      const event: DomainEvent = { type: 'message.pinned', conversation, messageId: message.id, messageUuid: message.uuid, pinned: on, by: Users.summaryOf(actor), at };
      this.events.publish(event);
    }
  }

  /** The conversation's pins, newest first, without the messages the actor deleted for themselves; `people`: every sender and pinner (Messages.named, Users.named). */
  async pins(actor: User, key: ConversationKey): Promise<{ pins: Pin[]; people: ReadonlyMap<Id, UserSummary> }> {
    const { conversation } = await this.conversations.access(actor, key);
    const all = await this.store.pins(conversation.id);
    const hidden = await this.hiddenIds(actor.id, all.map((p) => p.message));
    const pins = all.filter((p) => !hidden.has(p.message.id));
    const [{ senders }, pinners] = await Promise.all([this.messages.named(pins.map((p) => p.message)), this.users.named(pins.map((p) => p.pinnedBy))]);
    return { pins, people: new Map([...pinners, ...senders]) };
  }

  async save(actor: User, key: MessageKey, on: boolean): Promise<void> {
    if (!on) {
      // Unsaving needs no access: one may drop a save of a message one can no longer see.
      const { message } = await this.messages.get(actor, key).catch(() => ({ message: null }));
      if (message) await this.store.unsaveMessage(actor.id, message.id);
      return;
    }
    const { message } = await this.visible(actor, key);
    if (message.deletedAt !== null) throw new DomainError('message_deleted');
    await this.store.saveMessage(actor.id, message, Date.now());
  }

  async saved(actor: User, limit: number, before?: SavedCursor): Promise<SavedPage> {
    const rows = await this.store.savedMessages(actor.id, limit + 1, before);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    const next = rows.length > limit && last ? { at: last.savedAt, id: last.id } : null;
    return { items, senders: (await this.messages.named(items.map((s) => s.message))).senders, next };
  }
}

/**
 * The room list's previews for `userId`: a last message they deleted for themselves is
 * replaced by their newest one before it (read only for those).
 */
export async function lastUnhidden(store: Store, userId: Id, last: Map<Id, Message>): Promise<Map<Id, Message>> {
  const hidden = await store.hiddenMessageIds(userId, [...last.values()].map((m) => m.id));
  for (const m of last.values()) {
    if (!hidden.has(m.id)) continue;
    const before = await store.newestUnhidden(userId, m.conversationId, m.seq - 1);
    if (before) last.set(m.conversationId, before);
    else last.delete(m.conversationId);
  }
  return last;
}
