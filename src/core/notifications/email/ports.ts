// What the e-mail digest (digest.ts) keeps in the database: the implementation is
// src/backends/store/sql/email-digest.ts over migration 0018's tables.
import type { ConversationKind, Id, NotifyContent } from '../../model.js';

/** One unread DM or mention that is due. */
export interface DigestItem {
  conversationId: Id;
  conversationKind: ConversationKind;
  conversationTitle: string | null;
  seq: number;
  messageId: Id;
  senderName: string;
  content: string | null;
  createdAt: number;
}

export interface DigestRecipient {
  id: Id;
  email: string;
  name: string;
  /** Their tenant's content mode (null: the process default, EmailDigestOptions.contentFree). */
  notifyContent: NotifyContent | null;
}

/** What the digest keeps in the database (src/backends/store/sql/email-digest.ts). */
export interface EmailDigestStore {
  /**
   * Users (at most `limit`) with an unread DM or mention, not their own, not deleted, created
   * in (`newerThan`, `olderThan`], above their read place and their e-mailed watermark in a
   * conversation they are still in; who have not turned e-mail off and hold no live lease.
   */
  usersDue(olderThan: number, newerThan: number, now: number, limit: number): Promise<Id[]>;
  /** Takes the user's lease until `until` unless another holder's is live at `now`; whether it was taken. */
  claimDigestUser(userId: Id, holder: string, until: number, now: number): Promise<boolean>;
  /** The user (null when opted out or without an address) and what is due for them (the usersDue rule), by conversation and seq. */
  digestFor(userId: Id, olderThan: number, newerThan: number, limit: number): Promise<{ recipient: DigestRecipient | null; items: DigestItem[] }>;
  /** In one transaction: each conversation's watermark raised to its seq, the send recorded, the lease released. */
  recordDigest(userId: Id, holder: string, watermarks: readonly { conversationId: Id; seq: number }[], sentAt: number): Promise<void>;
  /** Releases the lease (nothing was sent). */
  releaseDigestUser(userId: Id, holder: string): Promise<void>;
  /** Turns e-mail off for the user (the unsubscribe link). */
  optOutOfEmail(userId: Id, at: number): Promise<void>;
}
