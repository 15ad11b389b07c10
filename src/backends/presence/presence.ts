import type { Id, Millis } from '../../core/model.js';

export type PresenceStatus = 'online' | 'away' | 'busy' | 'offline';

/**
 * Who is connected and who is typing. Ephemeral: nothing here is stored as a message.
 * Contract (test/contract/presence.contract.ts):
 * - A user is online from the first `connect` until the last of their connections has
 *   `disconnect`ed (or, across processes, expired); `connect` returns true exactly when the
 *   user came online, `disconnect` true exactly when they went offline.
 * - `isOnline` answers from this process's view without I/O.
 * - A typing mark lasts `typingTtlMs` unless renewed; when it expires the `onTypingExpired`
 *   listener is called once with the users still typing in that conversation.
 * - Shared by several processes (optional `onExpired`): the connections of a process that
 *   stopped without disconnecting them expire; each user who went offline that way is
 *   reported once, to the `onExpired` listener of one process, so exactly one process tells
 *   the user's partners (as `disconnect` returning true does for a clean close).
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
  /** Sets or clears a typing mark; returns who is typing in the conversation afterwards. */
  setTyping(conversationId: Id, userId: Id, typing: boolean): Promise<Id[]>;
  onTypingExpired(listener: (conversationId: Id, userId: Id, typingNow: Id[]) => void): void;
  /**
   * Optional (implementations shared by several processes): a user went offline because all
   * their connections expired; `lastSeen` is when they were last known connected.
   */
  onExpired?(listener: (userId: Id, lastSeen: Millis) => void): void;
  close(): Promise<void>;
}
