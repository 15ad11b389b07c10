import type { Presence, PresenceStatus } from '../../backends/presence/presence.js';
import type { Store } from '../../backends/store/store.js';
import { DomainError } from '../errors.js';
import type { ConversationRef, EventPublisher } from '../events.js';
import type { Conversations, ConversationKey } from '../conversations/conversations.js';
import type { Id, Millis, User, UserSummary } from '../model.js';
import { Users } from '../users.js';

/**
 * What one viewer may know of others' presence, for one rendering: the people the viewer may
 * not see are offline, with no last-seen time and no status, whatever they are.
 */
export interface PresenceView {
  /** Whether the viewer may see this user's presence at all. */
  visible(userId: Id): boolean;
  isOnline(userId: Id): boolean;
  status(userId: Id): PresenceStatus;
  /** When the user was last connected (now when online), or null (never, or not the viewer's to know). */
  lastSeen(user: { id: Id; lastSeenAt?: Millis | null }): Millis | null;
}

/**
 * Online state and typing: ephemeral. Who sees whose presence is decided here, once, for
 * every dialect (`visible`): a user sees themself, the people they share a live conversation
 * with (not deleted, both still in it; a direct conversation with a block between the two is
 * shut and does not count) and their accepted friends (a block ends a friendship). A pending
 * or declined request, a deleted conversation, a removal, another tenant: not visible.
 * Presence events go to the same people (the relation is symmetric). Co-members of a group
 * see each other whatever blocks there are: a group is shared space, and its messages show
 * their senders to every member anyway.
 */
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

  /** Of `ids`, those whose presence `viewer` may see (see the class comment). */
  async visible(viewer: User, ids: readonly Id[]): Promise<Set<Id>> {
    const out = new Set<Id>();
    const others = [...new Set(ids)].filter((id) => id !== viewer.id);
    if (ids.includes(viewer.id)) out.add(viewer.id);
    if (others.length === 0) return out;
    for (const id of await this.#peers(viewer.id, others)) out.add(id);
    return out;
  }

  /** Everyone who may see `userId`'s presence, themself excepted: where their presence events go. */
  async audience(userId: Id): Promise<Id[]> {
    return [...(await this.#peers(userId))].filter((id) => id !== userId);
  }

  async #peers(userId: Id, among?: Id[]): Promise<Set<Id>> {
    const peers = await this.store.presencePeers(userId, among);
    const out = new Set<Id>([...peers.shared, ...peers.friends]);
    const direct = peers.direct.filter((id) => !out.has(id));
    if (direct.length > 0) {
      const shut = new Set(await this.store.blockedEitherWay(userId));
      for (const id of direct) if (!shut.has(id)) out.add(id);
    }
    return out;
  }

  /** `viewer`'s view of the presence of `ids`, for one rendering (hidden ones: offline). */
  async view(viewer: User, ids: readonly Id[]): Promise<PresenceView> {
    const seen = await this.visible(viewer, ids);
    return {
      visible: (id) => seen.has(id),
      isOnline: (id) => seen.has(id) && this.presence.isOnline(id),
      status: (id) => (seen.has(id) ? this.presence.status(id) : 'offline'),
      lastSeen: (u) => (seen.has(u.id) ? this.lastSeen(u) : null),
    };
  }

  async #announce(user: User, isOnline: boolean, at: Millis) {
    const partners = await this.audience(user.id);
    if (partners.length === 0) return;
    this.events.publishToUsers(partners, {
      type: 'presence',
      user: Users.summaryOf(user),
      isOnline,
      status: isOnline ? this.presence.status(user.id) : 'offline',
      lastSeen: at,
    });
  }

  /**
   * Whether the user is online, unfiltered: only for someone the caller knows the viewer may
   * see (themself; a sender shown to the followers of a conversation they are in). Anything
   * else goes through `view`.
   */
  isOnline(userId: Id): boolean {
    return this.presence.isOnline(userId);
  }

  /** When the user was last connected: now when online, else the stored time (unfiltered, as isOnline). */
  lastSeen(user: { id: Id; lastSeenAt?: Millis | null }): Millis | null {
    return this.presence.lastSeen(user.id) ?? user.lastSeenAt ?? null;
  }

  /** Everyone whose presence the actor may see. */
  partners(actor: User): Promise<Id[]> {
    return this.audience(actor.id);
  }

  /** The user's status, unfiltered (as isOnline). */
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

  /** The people whose presence the actor may see who are online now. */
  async onlinePartners(actor: User): Promise<Id[]> {
    return this.presence.onlineAmong(await this.audience(actor.id));
  }

  async setStatus(actor: User, status: PresenceStatus): Promise<void> {
    await this.presence.setStatus(actor.id, status);
    await this.#announce(actor, status !== 'offline', Date.now());
  }

  /**
   * `requireFriendship`: document 004's rule, as for its sends (`SendInput.requireFriendship`):
   * in a direct conversation only accepted friends tell each other they type.
   *
   * Only a change is told: clients send a start per keystroke (003's own client does), and a
   * start of someone already typing only renews their mark, whichever process set it. So the
   * others hear one start per typing burst, then one stop (theirs, their message's, or the
   * mark's expiry), however many members and keystrokes.
   */
  async typing(actor: User, key: ConversationKey, isTyping: boolean, opts: { requireFriendship?: boolean } = {}): Promise<void> {
    const { conversation } = await this.conversations.access(actor, key);
    const ref = await this.conversations.ref(conversation);
    // A block shuts a direct conversation to typing too.
    if (ref.pair && (await this.conversations.friends.isBlocked(ref.pair[0].id, ref.pair[1].id))) throw new DomainError('blocked');
    if (opts.requireFriendship && ref.pair) {
      const other = ref.pair[0].id === actor.id ? ref.pair[1] : ref.pair[0];
      await this.conversations.friends.requireFriends(actor.id, other.id);
    }
    const { changed, typingNow } = await this.presence.setTyping(conversation.id, actor.id, isTyping);
    if (changed) this.#publishTyping(ref, Users.summaryOf(actor), isTyping, typingNow);
  }

  /**
   * The sender's message ends their typing burst: stopped, told once, so their next keystroke
   * is a start again. Only a mark this process knows of (no I/O on a send otherwise); one set
   * only through another process ends by its expiry.
   */
  async sent(sender: User, conversation: ConversationRef): Promise<void> {
    if (!this.presence.typingHere(conversation.id, sender.id)) return;
    const { changed, typingNow } = await this.presence.setTyping(conversation.id, sender.id, false);
    if (changed) this.#publishTyping(conversation, Users.summaryOf(sender), false, typingNow);
  }

  #publishTyping(conversation: ConversationRef, user: UserSummary, isTyping: boolean, typingUserIds: Id[]): void {
    this.events.publish({ type: 'typing', conversation, user, isTyping, typingUserIds });
  }

  async #typingExpired(conversationId: Id, userId: Id, typingNow: Id[]) {
    this.#publishTyping(await this.conversations.refById(conversationId), await this.users.summary(userId), false, typingNow);
  }
}
