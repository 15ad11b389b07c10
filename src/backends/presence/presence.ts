import type { Id, Millis } from '../../core/model.js';

export type PresenceStatus = 'online' | 'away' | 'busy' | 'offline';

/** What one `setTyping` did. */
export interface TypingChange {
  /** The user started (was not typing) or stopped (was typing); false for a renewal or a repeated stop. */
  changed: boolean;
  /** Who is typing in the conversation afterwards. */
  typingNow: Id[];
}

/**
 * Who is connected and who is typing. Ephemeral: nothing here is stored as a message.
 * Contract (test/contract/presence.contract.ts):
 * - A user is online from the first `connect` until the last of their connections has
 *   `disconnect`ed (or, across processes, expired); `connect` returns true exactly when the
 *   user came online, `disconnect` true exactly when they went offline.
 * - `isOnline` answers from this process's view without I/O.
 * - A typing mark lasts `typingTtlMs` unless renewed; when it expires the `onTypingExpired`
 *   listener is called once with the users still typing in that conversation.
 * - `setTyping` says whether the user's typing state changed: a start of someone not typing
 *   and a stop of someone typing are changes; a start of someone typing only renews the mark
 *   and a stop of someone not typing does nothing, whichever process set the mark. Together
 *   with the expiry, each user's changes in a conversation alternate start, stop, start, ...
 *   (so whoever forwards only changes forwards each typing burst once, not each keystroke).
 * - Shared by several processes (optional `onExpired`): the connections of a process that
 *   stopped without disconnecting them expire; each user who went offline that way is
 *   reported once, to the `onExpired` listener of one process, so exactly one process tells
 *   the user's partners (as `disconnect` returning true does for a clean close).
 * - Shared by several processes (optional `onRevived`): a process that was stopped or cut off
 *   longer than the expiry finds, when it runs again, that its users were reported offline
 *   while their sockets stayed open; it puts them back online and reports each such user
 *   once, to its own `onRevived` listener, so their partners hear they are online again.
 *   What a user set here (status) and the typing marks set here outlive a restart of the
 *   shared server: the status is written again if it was lost, and a typing mark that was
 *   lost is still reported as expired by the process that set it.
 */
export interface Presence {
  connect(userId: Id, connectionId: string): Promise<boolean>;
  disconnect(userId: Id, connectionId: string): Promise<boolean>;
  isOnline(userId: Id): boolean;
  /** When the user was last connected (now, if online), or undefined if never seen by this presence. */
  lastSeen(userId: Id): Millis | undefined;
  /** Users among `userIds` who are online now. */
  onlineAmong(userIds: readonly Id[]): Id[];
  setStatus(userId: Id, status: PresenceStatus): Promise<void>;
  status(userId: Id): PresenceStatus;
  /** Sets (or renews) or clears a typing mark: whether that changed the user's state, and who is typing afterwards. */
  setTyping(conversationId: Id, userId: Id, typing: boolean): Promise<TypingChange>;
  onTypingExpired(listener: (conversationId: Id, userId: Id, typingNow: Id[]) => void): void;
  /**
   * Whether a typing mark of the user in the conversation was set or renewed through this
   * presence and has not ended yet, as far as it knows without I/O (a mark set only through
   * another process is not known here).
   */
  typingHere(conversationId: Id, userId: Id): boolean;
  /**
   * Optional (implementations shared by several processes): a user went offline because all
   * their connections expired; `lastSeen` is when they were last known connected.
   */
  onExpired?(listener: (userId: Id, lastSeen: Millis) => void): void;
  /** Optional (shared by several processes): a user of this process reported offline while it was stopped is online again. */
  onRevived?(listener: (userId: Id) => void): void;
  close(): Promise<void>;
}

/**
 * The reads every presence answers from its own view without I/O: once `isOnline` is known,
 * when someone was last seen (now, if online) and who of a list is online follow alike.
 */
export abstract class PresenceReads {
  /** When each user's last connection came or went, as this process heard it. */
  protected readonly lastSeenAt = new Map<Id, Millis>();

  abstract isOnline(userId: Id): boolean;

  lastSeen(userId: Id): Millis | undefined {
    return this.isOnline(userId) ? Date.now() : this.lastSeenAt.get(userId);
  }

  onlineAmong(userIds: readonly Id[]): Id[] {
    return userIds.filter((id) => this.isOnline(id));
  }
}
