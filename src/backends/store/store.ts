import type {
  Attachment,
  Conversation,
  ConversationKind,
  FriendStatus,
  Id,
  Member,
  Message,
  MessageKind,
  Millis,
  Participant,
  Role,
  Invite,
  Tenant,
  TenantRole,
  User,
  UserSummary,
} from '../../core/model.js';

export interface NewUser {
  tenantId: Id;
  email: string;
  name: string;
  avatarUrl?: string | null;
  passwordHash?: string | null;
  externalIssuer?: string | null;
  externalSubject?: string | null;
  /** Unset: `admin` for the tenant's first user, `member` after (decided atomically). */
  tenantRole?: TenantRole;
}

export interface NewInvite {
  tenantId: Id;
  codeHash: string;
  email: string | null;
  createdBy: Id | null;
  createdAt: Millis;
  expiresAt: Millis;
}

export interface NewConversation {
  tenantId: Id;
  kind: ConversationKind;
  title: string | null;
  createdBy: Id;
  participants: { userId: Id; role: Role }[];
}

export interface NewAttachment {
  kind: Attachment['kind'];
  fileName: string;
  storedPath: string;
  size: number;
  mimeType: string;
  durationSeconds: number | null;
  width: number | null;
  height: number | null;
  thumbnailPath: string | null;
  /**
   * Claims this pending attachment (uploaded before its message, `message_id` NULL) of the
   * sender instead of inserting a new row; the other fields are then ignored.
   */
  pendingId?: Id;
}

/** An attachment with what an access check needs: whose it is and where it was sent. */
export interface AttachmentRecord {
  attachment: Attachment;
  tenantId: Id;
  ownerId: Id;
  /** Null while the attachment is pending (uploaded, not yet sent). */
  messageId: Id | null;
  conversationId: Id | null;
  messageDeletedAt: Millis | null;
  createdAt: Millis;
}

export interface NewMessage {
  conversationId: Id;
  senderId: Id;
  kind: MessageKind;
  content: string | null;
  replyToId: Id | null;
  /** The sender's local_temp_id: a second send with the same one returns the first message. */
  clientId: string | null;
  attachments: NewAttachment[];
  createdAt: Millis;
}

export interface AppendResult {
  message: Message;
  /** False when clientId matched an earlier message of the same sender (a retry). */
  created: boolean;
}

export interface FriendshipRow {
  userA: Id;
  userB: Id;
  status: FriendStatus;
  requestedBy: Id;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface Membership {
  conversation: Conversation;
  me: Participant;
}

/** Thrown by a store when a unique constraint refuses a write; the core turns it into a domain error. */
export class UniqueViolation extends Error {
  constructor(readonly constraint: string) {
    super(`unique violation: ${constraint}`);
    this.name = 'UniqueViolation';
  }
}

/**
 * Everything Parley persists. Contract (tested by test/contract/store.contract.ts against
 * every implementation):
 * - `appendMessages` commits its whole batch in one transaction or nothing; within it each
 *   conversation's `last_seq` and `change_seq` grow by one per new message, so seq is gapless
 *   and strictly increasing per conversation, also with several processes on one database.
 *   A message whose (sender, clientId) already exists is returned with `created: false` and
 *   takes no seq. The sender's read and delivered watermarks move to its own message.
 *   An attachment with `pendingId` claims that pending attachment in the same transaction;
 *   when it is not pending or not the sender's, the append fails with
 *   DomainError('upload_not_found') and commits nothing.
 * - A pending attachment is claimed at most once; `deletePendingAttachments` never deletes
 *   a claimed one.
 * - `editMessage`, `deleteMessage` and `setReaction` take the conversation's next change_seq
 *   and stamp it on the message, so `changesSince` finds every change after a cursor.
 * - `deleteMessage` keeps the row (seq stays gapless) and clears its content.
 * - Watermarks only move forward (`markRead`, `markDelivered`) and never past `last_seq`.
 * - `createConversation` of kind direct returns the existing conversation for the same pair.
 * - Pages are seq ranges; nothing reads messages with OFFSET or COUNT.
 * - `updated_at`/`created_at` are the caller's clock (epoch ms).
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * How many `appendMessages` calls may run at once and still take their seqs in the order
   * they were called (so one sender's messages keep their order across batches).
   */
  readonly appendPipeline: number;
  migrate(): Promise<void>;
  close(): Promise<void>;

  defaultTenant(): Promise<Tenant>;
  tenantById(id: Id): Promise<Tenant | undefined>;
  tenantByUuid(uuid: string): Promise<Tenant | undefined>;
  /** Creates the tenant with this uuid, or returns it when it exists. */
  ensureTenant(uuid: string, name: string): Promise<Tenant>;
  /** Creates the tenant with this uuid; undefined when one exists already (two callers: one gets it). */
  createTenant(uuid: string, name: string): Promise<Tenant | undefined>;

  /**
   * Throws UniqueViolation('users_tenant_email') for an email taken by a local account (one
   * without an external subject) of the tenant; accounts of an identity provider are unique
   * by (tenant, issuer, subject) only, so they never collide with a local one by e-mail.
   * Without `tenantRole`, the tenant's first user is its `admin` and every later one a
   * `member`, also when several are created at once.
   */
  createUser(user: NewUser): Promise<User>;
  /**
   * Creates a user with the invite whose code digests to `codeHash`, in one transaction: the
   * invite is claimed (used_at, used_by) only if it is of the user's tenant, unused, not
   * revoked, expires after `at` and, when bound to an e-mail, names the user's. Resolves to
   * undefined, with nothing written, when it cannot be claimed; of any number of concurrent
   * calls with one code, at most one creates a user. A taken e-mail throws as createUser does
   * and leaves the invite unused.
   */
  createUserWithInvite(user: NewUser, codeHash: string, at: Millis): Promise<User | undefined>;
  userById(id: Id): Promise<User | undefined>;
  userByUuid(uuid: string): Promise<User | undefined>;
  /** The local account (no external subject) with this email in the tenant. */
  userByEmail(tenantId: Id, email: string): Promise<User | undefined>;
  userByExternalSubject(tenantId: Id, issuer: string, subject: string): Promise<User | undefined>;
  passwordHash(userId: Id): Promise<string | null>;
  userSummaries(ids: readonly Id[]): Promise<Map<Id, UserSummary>>;
  /** Users of the tenant whose email contains `query` (case-insensitive), by email. */
  searchUsers(tenantId: Id, query: string, limit: number, excludeUserId: Id): Promise<UserSummary[]>;
  /** Revokes every token issued so far; returns the new version. */
  bumpTokenVersion(userId: Id): Promise<number>;
  /** Replaces the password hash and revokes every token issued so far, in one statement; returns the new version (undefined: no such user). */
  setPasswordHash(userId: Id, passwordHash: string): Promise<number | undefined>;

  createInvite(invite: NewInvite): Promise<Invite>;
  inviteByCodeHash(codeHash: string): Promise<Invite | undefined>;
  /** The tenant's invites, newest first, at most `limit`. */
  invites(tenantId: Id, limit: number): Promise<Invite[]>;
  /**
   * Revokes the tenant's invite with this uuid unless it was used or revoked already; returns
   * the invite as it is afterwards, or undefined when the tenant has none with that uuid.
   */
  revokeInvite(tenantId: Id, uuid: string, at: Millis): Promise<Invite | undefined>;
  setLastSeen(userId: Id, at: Millis): Promise<void>;

  friendship(a: Id, b: Id): Promise<FriendshipRow | undefined>;
  putFriendship(a: Id, b: Id, status: FriendStatus, requestedBy: Id, at: Millis): Promise<void>;
  /**
   * `from` asks `to`, atomically: no row → pending (requested by `from`); a pending request
   * of `to` → accepted; anything else stays as it is. Resolves to the status after it, so
   * two users asking each other at the same moment end up accepted, never both pending.
   */
  requestFriendship(from: Id, to: Id, at: Millis): Promise<FriendStatus>;
  deleteFriendship(a: Id, b: Id): Promise<boolean>;
  friendships(userId: Id): Promise<FriendshipRow[]>;

  createConversation(conversation: NewConversation, at: Millis): Promise<Conversation>;
  directConversation(tenantId: Id, a: Id, b: Id): Promise<Conversation | undefined>;
  conversationById(id: Id): Promise<Conversation | undefined>;
  conversationByUuid(uuid: string): Promise<Conversation | undefined>;
  participant(conversationId: Id, userId: Id): Promise<Participant | undefined>;
  /** Current participants with their user summaries, by join order. */
  members(conversationIds: readonly Id[]): Promise<Member[]>;
  /** The user's current conversations, most recent activity first. */
  memberships(userId: Id): Promise<Membership[]>;
  /** Users who share a conversation with this user (presence goes to them). */
  partnerIds(userId: Id): Promise<Id[]>;
  /** Moves read_seq (and delivered_seq) up to `seq`, capped at last_seq; returns the new read_seq, or null if nothing moved. */
  markRead(conversationId: Id, userId: Id, seq: number, at: Millis): Promise<number | null>;
  markDelivered(updates: readonly { conversationId: Id; userId: Id; seq: number }[]): Promise<void>;

  /**
   * Adds participants, or brings back ones who left (with the new role). A new participant
   * starts with everything before its arrival read (read_seq = last_seq).
   */
  addParticipants(conversationId: Id, participants: readonly { userId: Id; role: Role }[], at: Millis): Promise<void>;
  /** Marks the participant as gone (left_at); returns whether they were a participant. */
  removeParticipant(conversationId: Id, userId: Id, at: Millis): Promise<boolean>;
  setRole(conversationId: Id, userId: Id, role: Role): Promise<boolean>;
  updateConversation(conversationId: Id, changes: { title?: string | null }, at: Millis): Promise<Conversation | undefined>;
  /** Soft delete: the conversation disappears from every lookup; its rows stay. */
  deleteConversation(conversationId: Id, at: Millis): Promise<void>;
  addMentions(messageId: Id, userIds: readonly Id[]): Promise<void>;

  appendMessages(batch: readonly NewMessage[]): Promise<AppendResult[]>;
  messageById(id: Id): Promise<Message | undefined>;
  messageByUuid(uuid: string): Promise<Message | undefined>;
  /** The messages whose seq is in [fromSeq, toSeq], newest first. */
  messagesBySeq(conversationId: Id, fromSeq: number, toSeq: number): Promise<Message[]>;
  /** The last message of each conversation (seq = last_seq), keyed by conversation id. */
  lastMessages(conversations: readonly Conversation[]): Promise<Map<Id, Message>>;
  /** Messages with change_seq > after, oldest change first, at most `limit`. */
  changesSince(conversationId: Id, afterChangeSeq: number, limit: number): Promise<Message[]>;
  editMessage(messageId: Id, content: string, at: Millis): Promise<Message>;
  deleteMessage(messageId: Id, at: Millis): Promise<Message>;
  /** Adds or removes one (message, user, emoji); returns the message and whether anything changed. */
  setReaction(messageId: Id, userId: Id, emoji: string, on: boolean, at: Millis): Promise<{ message: Message; changed: boolean }>;

  /** Pending attachments (uploaded before their message) of `ownerId`, in one transaction; positions follow the list. */
  createPendingAttachments(tenantId: Id, ownerId: Id, attachments: readonly NewAttachment[], at: Millis): Promise<Attachment[]>;
  /** The attachment whose stored path or thumbnail path is `key`, with its owner and conversation. */
  attachmentByPath(key: string): Promise<AttachmentRecord | undefined>;
  /** The subset of `keys` that some attachment references, as stored path or thumbnail path. */
  referencedPaths(keys: readonly string[]): Promise<Set<string>>;
  /** Deletes the pending attachments created before `before`; returns the keys of their files (thumbnails included). */
  deletePendingAttachments(before: Millis): Promise<string[]>;
}
