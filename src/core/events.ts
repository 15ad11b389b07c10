import type { MessageReport } from '../backends/store/store.js';
import type { ConversationKind, Id, Message, Millis, UserSummary, Visibility } from './model.js';

/** Who a conversation event is about: enough for every dialect to render it without a query. */
export interface ConversationRef {
  id: Id;
  uuid: string;
  tenantId: Id;
  kind: ConversationKind;
  /** The two people of a direct conversation (ordered by user id); null for groups and channels. */
  pair: [UserSummary, UserSummary] | null;
}

/** Each participant's read_seq when the event happened (direct conversations; null for groups), for `is_read`. */
export type ReadSeqs = Record<number, number> | null;

/** On a change of a message: who deleted it for themselves (present when anyone did). A dialect with "delete for me" shows them nothing of it. */
export interface HiddenFrom {
  hiddenFrom?: Id[];
}

/**
 * The domain events, a typed map. Conversation events go to every socket subscribed to
 * that conversation; user events to every socket of that user. `origin` names the
 * connection that caused the event, so its own socket gets it (as its ack) even when it
 * is not subscribed to the conversation.
 */
export interface DomainEvents {
  'message.created': { conversation: ConversationRef; message: Message; sender: UserSummary; localTempId: string | null };
  'message.updated': { conversation: ConversationRef; message: Message; sender: UserSummary; readSeqs: ReadSeqs } & HiddenFrom;
  /** `presenceHidden` (here and on reactions): the sender left, or a block shuts the direct conversation: show them offline. */
  'message.deleted': { conversation: ConversationRef; message: Message; sender: UserSummary; readSeqs: ReadSeqs; presenceHidden?: true } & HiddenFrom;
  'reaction.added': { conversation: ConversationRef; message: Message; sender: UserSummary; readSeqs: ReadSeqs; userId: Id; user: UserSummary; emoji: string; at: Millis; presenceHidden?: true } & HiddenFrom;
  'reaction.removed': { conversation: ConversationRef; message: Message; sender: UserSummary; readSeqs: ReadSeqs; userId: Id; user: UserSummary; emoji: string; at: Millis; presenceHidden?: true } & HiddenFrom;
  /** `upTo`: the message at readSeq (004 names the message read). */
  'receipt.read': { conversation: ConversationRef; user: UserSummary; readSeq: number; at: Millis; upTo: { id: Id; uuid: string; senderId: Id } | null };
  /**
   * Sent to the user's own channel (every device): their place in a conversation moved (a read,
   * or "mark as unread"), with the unread state it leaves. Never shown to anyone else.
   */
  'unread.changed': { userId: Id; conversationId: Id; seenSeq: number; unreadCount: number; firstUnreadSeq: number | null };
  /** Sent to the user's own channel: their place in a thread, or their following of it, changed. */
  'thread.changed': { userId: Id; conversationId: Id; rootId: Id; readSeq: number; unreadCount: number; following: boolean };
  /** Sent to each participant's user channel: sockets that follow all of a user's conversations join it. */
  'conversation.created': { conversation: ConversationRef };
  'receipt.delivered': { conversation: ConversationRef; userId: Id; deliveredSeq: number; at: Millis };
  /** `visibility`: set when it is what changed (a channel listed or taken out of the directory). */
  'conversation.updated': { conversation: ConversationRef; title: string | null; visibility?: Visibility };
  'conversation.deleted': { conversation: ConversationRef };
  'participant.added': { conversation: ConversationRef; user: UserSummary; role: string; by: Id };
  'participant.removed': { conversation: ConversationRef; user: UserSummary; by: Id };
  'participant.role': { conversation: ConversationRef; user: UserSummary; role: string; by: Id };
  /** Sent to the user's own channel: they deleted this message for themselves (every device of theirs drops it). */
  'message.hidden': { conversation: ConversationRef; messageId: Id; messageUuid: string; userId: Id };
  /** A message was pinned or unpinned (`by`: who did it). Carries no `message`: it changes no change_seq. */
  'message.pinned': { conversation: ConversationRef; messageId: Id; messageUuid: string; pinned: boolean; by: UserSummary; at: Millis };
  /** Sent to the mentioned user's channel: every device, joined to the conversation or not. */
  mention: { conversation: ConversationRef; message: Message; sender: UserSummary; userId: Id };
  typing: { conversation: ConversationRef; user: UserSummary; isTyping: boolean; typingUserIds: Id[] };
  /** Sent to each partner's user channel. */
  presence: { user: UserSummary; isOnline: boolean; status: string; lastSeen: Millis };
  /**
   * Sent to a user's channel: the user's sockets are closed (logout, revoked token). With
   * `version`, only those authenticated by a token older than it: a session begun with the new
   * token (after a password change) stays, however late the event arrives.
   */
  /** A moderator resolved a report: told to its reporter's devices (issue 20). */
  'report.resolved': { report: MessageReport };
  'session.revoked': { userId: Id; version?: number };
  /** Sent to every process on the control channel: forget what `change` made stale. Never rendered. */
  'cache.invalidate': { change: CacheChange };
}

export type EventType = keyof DomainEvents;

export type DomainEvent = {
  [K in EventType]: {
    type: K;
    origin?: string;
    /** A retried send, published again: sockets that had it drop it. */
    retry?: boolean;
    /** performance.now() when the send reached the core (send-to-ack latency, measured where the origin socket is). */
    sentAt?: number;
    /** Date.now() when the hub published it (bus lag and fan-out latency). */
    publishedAt?: number;
    /** Read back for a follower that missed it (resume, gap fill): the state now, not the change itself. */
    replay?: boolean;
    /** Committed, maybe not on disk yet: its origin's copy (the ack) waits for it (Flush). */
    flush?: Flush | null;
  } & DomainEvents[K];
}[EventType];

/**
 * Whether a committed batch is on disk yet (SQLite flushes its WAL after the COMMIT, see
 * WalSync). Its events go to every other socket at the commit: the commit survives a killed
 * process already, and what readers see. The origin socket's copy is the sender's ack, which
 * promises the disk: it waits until `done`, and is dropped if not `ok` (the send fails).
 * Only in this process: it is not carried over a bus (toJSON).
 */
export class Flush {
  done = false;
  ok = false;
  readonly settled: Promise<void>;

  constructor(onDisk: Promise<unknown>) {
    this.settled = onDisk.then(
      () => {
        this.done = this.ok = true;
      },
      () => {
        this.done = true;
      },
    );
  }

  toJSON(): undefined {
    return undefined;
  }
}

export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;

export const isConversationEvent = (e: DomainEvent): e is Extract<DomainEvent, { conversation: ConversationRef }> =>
  'conversation' in e;

/** Where the core puts its events; the delivery layer decides who receives them. */
export interface EventPublisher {
  /** Conversation events go to the conversation's channel. */
  publish(event: DomainEvent): void;
  /** User events go to each listed user's channel. */
  publishToUsers(userIds: readonly Id[], event: DomainEvent): void;
}

/**
 * What a committed change makes stale in every process's CachedStore (a member's role, a
 * conversation's members, the blocks of a pair), carried by the `cache.invalidate` event. `all`: anything may be stale (the bus lost
 * events while its server was unreachable).
 */
export type CacheChange =
  | { scope: 'conversation'; conversationId: Id }
  | { scope: 'member'; conversationId: Id; userId: Id }
  | { scope: 'block'; userIds: [Id, Id] }
  /** A user's summary changed (their profile erased). */
  | { scope: 'user'; userId: Id }
  | { scope: 'all' };
