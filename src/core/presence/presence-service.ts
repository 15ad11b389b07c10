import type { Presence, PresenceStatus } from '../../backends/presence/presence.js';
import type { Store } from '../../backends/store/store.js';
import type { EventPublisher } from '../events.js';
import type { Conversations, ConversationKey } from '../conversations/conversations.js';
import type { Id, Millis, User } from '../model.js';
import { Users } from '../users.js';

/** Online state and typing: ephemeral, told to the people who share a conversation with the user. */
export class PresenceService {
  constructor(
    readonly presence: Presence,
    readonly store: Store,
    readonly users: Users,
    readonly conversations: Conversations,
    readonly events: EventPublisher,
  ) {
    presence.onTypingExpired((conversationId, userId, typingNow) => {
      void this.#typingExpired(conversationId, userId, typingNow).catch(() => {});
    });
  }

  async connected(user: User, connectionId: string): Promise<void> {
    if (await this.presence.connect(user.id, connectionId)) await this.#announce(user, true, Date.now());
  }

  /** A user whose every connection expired (their process died): offline, told to partners. */
  async expired(userId: Id, lastSeen: Millis): Promise<void> {
    const user = await this.store.userById(userId);
    if (!user) return;
    await this.store.setLastSeen(userId, lastSeen);
    this.#current.delete(userId);
    await this.#announce(user, false, lastSeen);
  }

  /**
   * A user of this process whose connections had expired while it was stopped (their
   * partners were told they went offline) is online again: the partners are told so.
   */
  async revived(userId: Id): Promise<void> {
    const user = await this.store.userById(userId);
    if (user && this.presence.isOnline(userId)) await this.#announce(user, true, Date.now());
  }

  async disconnected(user: User, connectionId: string): Promise<void> {
    if (await this.presence.disconnect(user.id, connectionId)) {
      // Ephemeral like the status, which the last socket's close resets too.
      this.#current.delete(user.id);
      const at = Date.now();
      await this.store.setLastSeen(user.id, at);
      await this.#announce(user, false, at);
    }
  }

  async #announce(user: User, isOnline: boolean, at: Millis) {
    const partners = await this.store.partnerIds(user.id);
    if (partners.length === 0) return;
    this.events.publishToUsers(partners, {
      type: 'presence',
      user: Users.summaryOf(user),
      isOnline,
      status: isOnline ? this.presence.status(user.id) : 'offline',
      lastSeen: at,
    });
  }

  isOnline(userId: Id): boolean {
    return this.presence.isOnline(userId);
  }

  /** When the user was last connected: now when online, else the stored time. */
  lastSeen(user: { id: Id; lastSeenAt?: Millis | null }): Millis | null {
    return this.presence.lastSeen(user.id) ?? user.lastSeenAt ?? null;
  }

  /** Everyone who shares a conversation with the actor. */
  partners(actor: User): Promise<Id[]> {
    return this.store.partnerIds(actor.id);
  }

  status(userId: Id): PresenceStatus {
    return this.presence.status(userId);
  }

  // 003's current_conversation: where the user says they are; ephemeral like the rest.
  readonly #current = new Map<Id, string>();

  /** What the user last set (PUT presence/me/ answers with it even without a socket); cleared with their last socket. */
  currentConversation(userId: Id): string | null {
    return this.#current.get(userId) ?? null;
  }

  async setCurrentConversation(actor: User, key: ConversationKey | null): Promise<void> {
    if (key === null) {
      this.#current.delete(actor.id);
      return;
    }
    const { conversation } = await this.conversations.access(actor, key);
    this.#current.set(actor.id, conversation.uuid);
  }

  /** The actor's conversation partners who are online now. */
  async onlinePartners(actor: User): Promise<Id[]> {
    return this.presence.onlineAmong(await this.store.partnerIds(actor.id));
  }

  async setStatus(actor: User, status: PresenceStatus): Promise<void> {
    await this.presence.setStatus(actor.id, status);
    await this.#announce(actor, status !== 'offline', Date.now());
  }

  async typing(actor: User, key: ConversationKey, isTyping: boolean): Promise<void> {
    const { conversation } = await this.conversations.access(actor, key);
    const typingUserIds = await this.presence.setTyping(conversation.id, actor.id, isTyping);
    this.events.publish({
      type: 'typing',
      conversation: await this.conversations.ref(conversation),
      user: Users.summaryOf(actor),
      isTyping,
      typingUserIds,
    });
  }

  async #typingExpired(conversationId: Id, userId: Id, typingNow: Id[]) {
    this.events.publish({
      type: 'typing',
      conversation: await this.conversations.refById(conversationId),
      user: await this.users.summary(userId),
      isTyping: false,
      typingUserIds: typingNow,
    });
  }
}
