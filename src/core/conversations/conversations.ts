import { serializeMetadata } from '../messages/metadata.js';
import type { ActivityCursor, Store, StoreReads, UnreadState } from '../../backends/store/store.js';
import { DomainError, refusal, storeCall } from '../errors.js';
import { unrecordedAudit, type AuditRecorder } from '../audit/ports.js';
import type { ConversationRef, EventPublisher } from '../events.js';
import type { Friends } from '../friends/friends.js';
import type { Conversation, ConversationKind, ConversationView, Id, Member, Participant, Role, User, UserSummary, Visibility } from '../model.js';
import { lastUnhidden } from '../messages/curation.js';
import { may, type Action } from './permissions.js';
import { deletedUser, Users } from '../users.js';
import { Sanctions } from '../moderation/sanctions.js';

export type ConversationKey = Id | string;

export interface Access {
  conversation: Conversation;
  me: Participant;
}

export interface AddedParticipant {
  member: Member;
  /** False when they were a participant already: nothing changed. */
  added: boolean;
}

/** Against forced membership (README "Security"): how big a group gets, how many one call adds. */
export interface MembershipLimits {
  /** MAX_CONVERSATION_MEMBERS: current participants of a group or channel, at most. */
  maxMembers: number;
  /** MAX_MEMBERS_PER_ADD: people one create or add call may name, at most. */
  maxPerAdd: number;
}

/** A page of the room list: the views and, when there may be more, where the next page starts. */
export interface ConversationPage {
  views: ConversationView[];
  next: ActivityCursor | null;
}

/** Members shown per group or channel in a room list (a direct conversation shows its two). */
export const LIST_MEMBER_PREVIEW = 5;

/** Conversations, membership and read state. Anything the actor is not in is "not found". */
export class Conversations {
  /** Bans and mutes, checked by every service that lets someone in or lets them post. */
  readonly sanctions: Sanctions;

  constructor(
    readonly store: Store,
    readonly users: Users,
    readonly friends: Friends,
    readonly events: EventPublisher,
    readonly limits: MembershipLimits = { maxMembers: 1000, maxPerAdd: 100 },
  ) {
    this.sanctions = new Sanctions(store);
  }

  /** Where an admin's role changes are recorded (the Core sets its audit log). */
  audit: AuditRecorder = unrecordedAudit;

  async #find(key: ConversationKey, reads: StoreReads = this.store): Promise<Conversation | undefined> {
    return typeof key === 'number' ? reads.conversationById(key) : reads.conversationByUuid(key);
  }

  /**
   * The conversation and the actor's participation in it, or `conversation_not_found`;
   * `reads`: inside a snapshot (Store.snapshot), read there.
   */
  async access(actor: User, key: ConversationKey, reads: StoreReads = this.store): Promise<Access> {
    const conversation = await this.#find(key, reads);
    if (!conversation || conversation.tenantId !== actor.tenantId) throw new DomainError('conversation_not_found');
    // Fresh, not cached: callers read the watermarks.
    const me = await reads.participant(conversation.id, actor.id);
    if (!me) throw new DomainError('conversation_not_found');
    return { conversation, me };
  }

  /**
   * The send path's access check: the same answer as `access`, from the facts a store may cache
   * (the conversation's reference, the actor's role), so a send costs no query.
   */
  async memberRef(actor: User, key: ConversationKey): Promise<ConversationRef> {
    const ref = await this.store.conversationRef(key);
    if (!ref || ref.tenantId !== actor.tenantId || !(await this.role(ref.id, actor.id))) throw new DomainError('conversation_not_found');
    return ref;
  }

  /** The role of a current participant of a live conversation, or undefined (cacheable: Store.memberRole). */
  role(conversationId: Id, userId: Id): Promise<Role | undefined> {
    return this.store.memberRole(conversationId, userId);
  }

  /**
   * The direct conversation of the actor and `other`, created on first contact. With
   * `requireFriendship` (document 004's surfaces) only accepted friends get one.
   */
  async openDirect(actor: User, otherKey: Id | string, opts: { requireFriendship?: boolean } = {}): Promise<ConversationView> {
    const other = await this.users.resolve(actor, otherKey);
    if (other.id === actor.id) throw new DomainError('cannot_chat_with_self');
    if (await this.friends.isBlocked(actor.id, other.id)) throw new DomainError('blocked');
    if (opts.requireFriendship) await this.friends.requireFriends(actor.id, other.id);
    const at = Date.now();
    const conversation = await this.store.createConversation(
      {
        tenantId: actor.tenantId,
        kind: 'direct',
        title: null,
        createdBy: actor.id,
        participants: [
          { userId: actor.id, role: 'member' },
          { userId: other.id, role: 'member' },
        ],
      },
      at,
    );
    // New (its creation time is ours): sockets that follow all of these users' conversations join it.
    if (conversation.createdAt === at && conversation.lastSeq === 0) {
      this.events.publishToUsers([actor.id, other.id], { type: 'conversation.created', conversation: await this.ref(conversation) });
    }
    return this.view(actor, conversation.id);
  }

  /** A group or channel (or a direct conversation, which is `openDirect`); the creator is its admin. */
  async create(actor: User, input: { kind: ConversationKind; title: string | null; members?: (Id | string)[]; visibility?: Visibility; metadata?: unknown }): Promise<ConversationView> {
    if (input.visibility === 'public' && input.kind !== 'channel') throw refusal('public_channels_only');
    const metadataJson = serializeMetadata(input.metadata);
    if (input.kind === 'direct') {
      if (!input.members || input.members.length !== 1) throw refusal('direct_needs_one_member');
      return this.openDirect(actor, input.members[0]);
    }
    const title = input.title?.trim() || null;
    if (title && title.length > 255) throw refusal('title_too_long', { max: 255 });
    const others: User[] = [];
    if ((input.members?.length ?? 0) > this.limits.maxPerAdd) {
      throw refusal('add_at_most', { max: this.limits.maxPerAdd });
    }
    for (const key of input.members ?? []) {
      const u = await this.users.resolve(actor, key);
      if (u.id !== actor.id && !others.some((o) => o.id === u.id)) others.push(u);
    }
    if (1 + others.length > this.limits.maxMembers) throw new DomainError('conversation_full');
    for (const u of others) if (await this.friends.blocks(u.id, actor.id)) throw new DomainError('not_addable');
    const at = Date.now();
    const conversation = await this.store.createConversation(
      {
        tenantId: actor.tenantId,
        kind: input.kind,
        title,
        createdBy: actor.id,
        participants: [{ userId: actor.id, role: 'admin' }, ...others.map((u) => ({ userId: u.id, role: 'member' as Role }))],
        visibility: input.visibility ?? 'private',
        metadataJson,
      },
      at,
    );
    const ref = await this.ref(conversation);
    this.events.publishToUsers([actor.id, ...others.map((u) => u.id)], { type: 'conversation.created', conversation: ref });
    return this.view(actor, conversation.id);
  }

  /** For the other services of conversations (the directory): `#require`. */
  requireRole(actor: User, key: ConversationKey, action: Action): Promise<Access> {
    return this.#require(actor, key, action);
  }

  /** Throws `not_permitted` unless the actor's role allows `action` here. */
  async #require(actor: User, key: ConversationKey, action: Action): Promise<Access> {
    const a = await this.access(actor, key);
    if (a.conversation.kind === 'direct' && action !== 'rename') throw new DomainError('not_a_group');
    if (!may(a.me.role, action)) throw new DomainError('not_permitted');
    return a;
  }

  async rename(actor: User, key: ConversationKey, title: string | null): Promise<ConversationView> {
    const { conversation } = await this.#require(actor, key, 'rename');
    const clean = title?.trim() || null;
    if (clean && clean.length > 255) throw refusal('title_too_long', { max: 255 });
    await this.store.updateConversation(conversation.id, { title: clean }, Date.now());
    this.events.publish({ type: 'conversation.updated', conversation: await this.ref(conversation), title: clean });
    return this.view(actor, conversation.id);
  }

  /** An integration's metadata (issue 19): who may rename the conversation sets it; null clears it. */
  async setMetadata(actor: User, key: ConversationKey, metadata: unknown): Promise<ConversationView> {
    const { conversation } = await this.#require(actor, key, 'rename');
    await this.store.updateConversation(conversation.id, { metadataJson: serializeMetadata(metadata) ?? null }, Date.now());
    return this.view(actor, conversation.id);
  }

  async remove(actor: User, key: ConversationKey): Promise<void> {
    const { conversation } = await this.#require(actor, key, 'delete_conversation');
    const ref = await this.ref(conversation);
    await this.store.deleteConversation(conversation.id, Date.now());
    this.events.publish({ type: 'conversation.deleted', conversation: ref });
  }

  async participants(actor: User, key: ConversationKey): Promise<Member[]> {
    const { conversation } = await this.access(actor, key);
    return this.store.members([conversation.id]);
  }

  /**
   * Adds `userKey` with `role` (an admin grants any role, a moderator adds members only).
   * Someone who is a participant already is answered with their membership as it is
   * (`added: false`): no role change, no event; roles change through `setRole` only, so
   * adding can neither demote an admin nor get round the last-admin rule. Someone who left
   * comes back as a new participant, by the same rules.
   */
  async addParticipant(actor: User, key: ConversationKey, userKey: Id | string, role: Role = 'member'): Promise<AddedParticipant> {
    const { conversation, me } = await this.#require(actor, key, 'add_participant');
    // Only an admin hands out admin or moderator.
    if (role !== 'member' && !may(me.role, 'change_role')) throw new DomainError('not_permitted');
    const user = await this.users.resolve(actor, userKey);
    // Whoever blocked the actor is not theirs to add (README "Security": forced membership).
    if (await this.friends.blocks(user.id, actor.id)) throw new DomainError('not_addable');
    await this.sanctions.refuseBanned(conversation.id, user.id, 'adder');
    const added = (await storeCall(this.store.addParticipants(conversation.id, [{ userId: user.id, role }], Date.now(), { maxMembers: this.limits.maxMembers }))).includes(user.id);
    if (added) {
      const ref = await this.ref(conversation);
      this.events.publish({ type: 'participant.added', conversation: ref, user: Users.summaryOf(user), role, by: actor.id });
      this.events.publishToUsers([user.id], { type: 'conversation.created', conversation: ref });
    }
    const member = (await this.store.members([conversation.id])).find((m) => m.user.id === user.id);
    // Gone again already (removed by someone else in between): as if never added.
    if (!member) throw refusal('participant_not_found');
    return { member, added };
  }

  /** Removes someone (admins and moderators), or the actor leaves; the last admin must hand over first. */
  async removeParticipant(actor: User, key: ConversationKey, userKey: Id | string): Promise<void> {
    const self = (typeof userKey === 'number' ? userKey === actor.id : userKey === actor.uuid);
    const { conversation } = self ? await this.access(actor, key) : await this.#require(actor, key, 'remove_participant');
    if (conversation.kind === 'direct') throw new DomainError('not_a_group');
    const user = self ? actor : await this.users.resolve(actor, userKey);
    const members = await this.store.members([conversation.id]);
    const target = members.find((m) => m.user.id === user.id);
    if (!target) throw refusal('participant_not_found');
    const actorRole = members.find((m) => m.user.id === actor.id)!.participant.role;
    // A moderator cannot remove an admin.
    if (!self && target.participant.role === 'admin' && actorRole !== 'admin') throw new DomainError('not_permitted');
    // The store checks the last-admin rule again in the transaction of the removal.
    const admins = members.filter((m) => m.participant.role === 'admin');
    if (target.participant.role === 'admin' && admins.length === 1 && members.length > 1) throw new DomainError('last_admin');
    if (!(await storeCall(this.store.removeParticipant(conversation.id, user.id, Date.now())))) throw refusal('participant_not_found');
    this.events.publish({ type: 'participant.removed', conversation: await this.ref(conversation), user: Users.summaryOf(user), by: actor.id });
  }

  /** Only an admin changes roles (README "Permissions"); the last admin cannot step down. */
  async setRole(actor: User, key: ConversationKey, userKey: Id | string, role: Role, origin?: string): Promise<Member> {
    const { conversation } = await this.#require(actor, key, 'change_role');
    const user = await this.users.resolve(actor, userKey);
    const members = await this.store.members([conversation.id]);
    const target = members.find((m) => m.user.id === user.id);
    if (!target) throw refusal('participant_not_found');
    // The store checks this again in the transaction of the change.
    if (target.participant.role === 'admin' && role !== 'admin' && members.filter((m) => m.participant.role === 'admin').length === 1) {
      throw new DomainError('last_admin');
    }
    const changed = await storeCall(
      this.audit.within(
        this.store,
        (tx) => tx.setRole(conversation.id, user.id, role, Date.now()),
        (done) =>
          done
            ? { tenantId: actor.tenantId, actorId: actor.id, action: 'participant.role', targetType: 'conversation', targetId: String(conversation.id), origin, details: { user_id: user.id, from: target.participant.role, to: role } }
            : null,
      ),
    );
    if (!changed) throw refusal('participant_not_found');
    this.events.publish({ type: 'participant.role', conversation: await this.ref(conversation), user: Users.summaryOf(user), role, by: actor.id });
    return { user: target.user, participant: { ...target.participant, role } };
  }

  /** The direct conversation of the actor and `other` if they have one. */
  async findDirect(actor: User, otherKey: Id | string): Promise<{ other: User; view: ConversationView | null }> {
    const other = await this.users.resolve(actor, otherKey);
    const conversation = await this.store.directConversation(actor.tenantId, actor.id, other.id);
    return { other, view: conversation ? await this.view(actor, conversation.id) : null };
  }

  /** One conversation with every member (at most MAX_CONVERSATION_MEMBERS). */
  async view(actor: User, key: ConversationKey): Promise<ConversationView> {
    const { conversation, me } = await this.access(actor, key);
    return (await this.#views([{ conversation, me }], 'all'))[0];
  }

  /**
   * The actor's conversations with unread counts and last messages, most recent activity
   * first: a few queries, none over all messages nor over every member. Each view has the
   * member count, a direct conversation's pair, and at most LIST_MEMBER_PREVIEW members of a
   * group or channel (`view` has them all).
   */
  async list(actor: User): Promise<ConversationView[]> {
    return this.#views(await this.store.memberships(actor.id), 'preview');
  }

  /**
   * The actor's conversations alone, most recent activity first: what a socket follows when
   * it connects. No previews, unread counts or members, which `list` reads for a screen and a
   * reconnect storm would read once per socket for nothing.
   */
  async followed(actor: User): Promise<Conversation[]> {
    return (await this.store.memberships(actor.id)).map((a) => a.conversation);
  }

  /** One page of `list`: at most `limit`, after `before` (the previous page's `next`). */
  async listPage(actor: User, page: { limit: number; before?: ActivityCursor }): Promise<ConversationPage> {
    const limit = Math.min(Math.max(1, Math.floor(page.limit)), 500);
    const access = await this.store.memberships(actor.id, { limit: limit + 1, before: page.before });
    const more = access.length > limit;
    const views = await this.#views(access.slice(0, limit), 'preview');
    const last = views.at(-1)?.conversation;
    return { views, next: more && last ? { at: last.lastMessageAt ?? last.createdAt, id: last.id } : null };
  }

  async #views(access: Access[], members: 'all' | 'preview'): Promise<ConversationView[]> {
    const conversations = access.map((a) => a.conversation);
    const ids = conversations.map((c) => c.id);
    const [last, unread, listed] = await Promise.all([
      // The caller's own deletions (delete for me) are not their preview.
      this.store.lastMessages(conversations).then((last) => (access.length > 0 ? lastUnhidden(this.store, access[0].me.userId, last) : last)),
      access.length > 0 ? this.store.unreadStates(access[0].me.userId, ids) : new Map<Id, UnreadState>(),
      members === 'all' ? this.store.members(ids) : this.store.memberPreview(ids, LIST_MEMBER_PREVIEW),
    ]);
    const byConversation = new Map<Id, Member[]>();
    const people = new Map<Id, UserSummary>();
    for (const m of listed) {
      let list = byConversation.get(m.participant.conversationId);
      if (!list) byConversation.set(m.participant.conversationId, (list = []));
      list.push(m);
      people.set(m.user.id, m.user);
    }
    // Whom a rendering names besides the members listed: creators, last senders and reactors.
    const named = new Set<Id>();
    for (const c of conversations) if (c.createdBy !== null) named.add(c.createdBy);
    for (const m of last.values()) {
      named.add(m.senderId);
      for (const r of m.reactions) for (const u of r.userIds) named.add(u);
    }
    for (const id of people.keys()) named.delete(id);
    if (named.size > 0) for (const [id, u] of await this.users.summaries([...named])) people.set(id, u);
    // A last sender whose account is gone is named here, once for every dialect.
    for (const m of last.values()) if (!people.has(m.senderId)) people.set(m.senderId, deletedUser(m.senderId));
    return access.map(({ conversation, me }) => ({
      conversation,
      me,
      members: byConversation.get(conversation.id) ?? [],
      people,
      lastMessage: last.get(conversation.id) ?? null,
      // A message in the conversation clears the count (the append moves seen_seq; a thread reply does not) but reads nothing.
      unreadCount: unread.get(conversation.id)?.unreadCount ?? 0,
      firstUnreadSeq: unread.get(conversation.id)?.firstUnreadSeq ?? null,
    }));
  }

  /**
   * "Mark as unread" from message `seq`: the actor's place moves back to just before it, on
   * every device of theirs. Only their own place (seen_seq) moves: read_seq stays, so the
   * others never see a message they were told was read go back to unread (004's status and
   * every read receipt keep their meaning).
   */
  async markUnread(actor: User, key: ConversationKey, seq: number): Promise<UnreadState> {
    const { conversation } = await this.access(actor, key);
    const message = Number.isSafeInteger(seq) && seq >= 1 ? (await this.store.messagesBySeq(conversation.id, seq, seq))[0] : undefined;
    if (!message || message.deletedAt !== null) throw new DomainError('message_not_found');
    const moved = await this.store.lowerSeen(conversation.id, actor.id, seq - 1);
    return this.#announceUnread(actor, conversation.id, moved !== null);
  }

  /** The actor's unread state in a conversation, told to each of their devices (after something changed what counts). */
  announceUnread(actor: User, conversationId: Id): Promise<UnreadState> {
    return this.#announceUnread(actor, conversationId, true);
  }

  /** The actor's unread state in a conversation, told to each of their devices when it changed. */
  async #announceUnread(actor: User, conversationId: Id, changed: boolean): Promise<UnreadState> {
    const state = (await this.store.unreadStates(actor.id, [conversationId])).get(conversationId) ?? { seenSeq: 0, unreadCount: 0, firstUnreadSeq: null };
    if (changed) this.events.publishToUsers([actor.id], { type: 'unread.changed', userId: actor.id, conversationId, ...state });
    return state;
  }

  /** Marks everything up to `uptoSeq` (default: all) read; tells the conversation when it moved. */
  /** Told of each read mark that moved the reader's place (the push notifications clear it on their devices). */
  onRead: (userId: Id, conversationId: Id) => void = () => {};

  async markRead(actor: User, key: ConversationKey, uptoSeq?: number): Promise<number> {
    const { conversation, me } = await this.access(actor, key);
    const target = Math.min(uptoSeq ?? conversation.lastSeq, conversation.lastSeq);
    const at = Date.now();
    const moved = await this.store.markRead(conversation.id, actor.id, target, at);
    // The reader's own place follows (also where read_seq stayed, after "mark as unread").
    const seen = await this.store.raiseSeen(conversation.id, actor.id, target);
    if (seen !== null) await this.#announceUnread(actor, conversation.id, true);
    if (seen !== null || moved !== null) this.onRead(actor.id, conversation.id);
    if (moved === null) return me.readSeq;
    const upTo = (await this.store.messagesBySeq(conversation.id, moved, moved))[0];
    this.events.publish({
      type: 'receipt.read',
      conversation: await this.ref(conversation),
      user: Users.summaryOf(actor),
      readSeq: moved,
      at,
      upTo: upTo ? { id: upTo.id, uuid: upTo.uuid, senderId: upTo.senderId } : null,
    });
    return moved;
  }

  /** What events carry about a conversation. */
  ref(conversation: Conversation): Promise<ConversationRef> {
    return this.refById(conversation.id);
  }

  /** A conversation's reference, deleted or not (Store.conversationRef: cacheable). */
  async refById(id: Id): Promise<ConversationRef> {
    const ref = await this.store.conversationRef(id);
    if (!ref) throw new DomainError('conversation_not_found');
    return ref;
  }
}
