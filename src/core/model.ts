// Domain objects: what the core returns and what events carry. No JSON shapes here;
// each dialect renders these in its document's form.

export type Id = number;
export type ConversationKind = 'direct' | 'group' | 'channel';
/** `private`: invite only; `public`: a channel listed in its tenant's directory that anyone of the tenant joins. */
export type Visibility = 'public' | 'private';
export type Role = 'admin' | 'moderator' | 'member';
export type MessageKind = 'text' | 'emoji' | 'image' | 'file' | 'voice' | 'system';
export type FriendStatus = 'pending' | 'accepted' | 'blocked';

/**
 * The tenant every installation starts with; migration 0001 creates it with this uuid (the
 * store contract checks that the two agree).
 */
export const DEFAULT_TENANT_UUID = '00000000-0000-7000-8000-000000000001';

/** A time is epoch milliseconds everywhere in the core and the store. */
export type Millis = number;

export interface Tenant {
  id: Id;
  uuid: string;
  name: string;
  createdAt: Millis;
  /** What pushes and e-mails of this tenant say: `none` is "New message" only; null: the process default (NOTIFY_CONTENT). */
  notifyContent: NotifyContent | null;
}

/** full: who wrote what; none: "New message", the device fetches the rest. */
export type NotifyContent = 'full' | 'none';

/** A user's role in their tenant: its admins create and revoke its invites. */
export type TenantRole = 'admin' | 'member';

export interface User {
  id: Id;
  uuid: string;
  tenantId: Id;
  tenantUuid: string;
  email: string;
  name: string;
  avatarUrl: string | null;
  tokenVersion: number;
  lastSeenAt: Millis | null;
  createdAt: Millis;
  tenantRole: TenantRole;
  /** A bot (issue 19): no password; acts through an API key or an incoming webhook. */
  isBot: boolean;
  /** When an admin suspended the user (issue 20): no token, login or API key of theirs works meanwhile. */
  suspendedAt: Millis | null;
  /** A server operator: an admin over every tenant (issue 20). */
  isOperator: boolean;
}

export type ApiKeyScope = 'read' | 'write' | 'admin';

/** A tenant's key for server-to-server calls, acting as its bot user. Only a digest of its secret is kept. */
export interface ApiKey {
  id: Id;
  uuid: string;
  tenantId: Id;
  botUserId: Id;
  name: string;
  scopes: ApiKeyScope[];
  createdBy: Id | null;
  createdAt: Millis;
  lastUsedAt: Millis | null;
  revokedAt: Millis | null;
}

/** A secret URL that posts into one conversation as its bot user. Only a digest of its secret is kept. */
export interface IncomingWebhook {
  id: Id;
  uuid: string;
  tenantId: Id;
  conversationId: Id;
  botUserId: Id;
  name: string;
  createdBy: Id | null;
  createdAt: Millis;
  revokedAt: Millis | null;
}

/** A single-use, expiring way into one tenant. Only a digest of its code is kept. */
export interface Invite {
  id: Id;
  uuid: string;
  tenantId: Id;
  tenantUuid: string;
  /** When set, only a registration with this (normalized) e-mail may use it. */
  email: string | null;
  /** The admin who created it; null when made from the command line. */
  createdBy: Id | null;
  createdAt: Millis;
  expiresAt: Millis;
  usedAt: Millis | null;
  usedBy: Id | null;
  revokedAt: Millis | null;
}

/** What a rendering needs to show someone. */
export interface UserSummary {
  id: Id;
  uuid: string;
  name: string;
  email: string;
  avatarUrl: string | null;
  /** Set (true) for a bot; absent or false for a person. */
  isBot?: boolean;
}

export interface Conversation {
  id: Id;
  uuid: string;
  tenantId: Id;
  kind: ConversationKind;
  title: string | null;
  createdBy: Id | null;
  lastSeq: number;
  changeSeq: number;
  lastMessageAt: Millis | null;
  createdAt: Millis;
  updatedAt: Millis;
  /** Current participants: a count the store keeps, never a COUNT over participants. */
  memberCount: number;
  visibility: Visibility;
  /** An integration's JSON object, serialized (issue 19); absent or null: none. */
  metadataJson?: string | null;
  /** "Keep N days" set on this conversation (issue 20); null or absent: the tenant's. */
  retentionDays?: number | null;
  /** Every message with a smaller seq was purged by retention; absent: 1 (none was). */
  purgedBeforeSeq?: number;
}

/** A legal hold: retention purges nothing of this conversation, or nothing this user sent. */
export interface LegalHold {
  tenantId: Id;
  targetType: 'conversation' | 'user';
  targetId: Id;
  createdBy: Id | null;
  createdAt: Millis;
}

export interface Participant {
  conversationId: Id;
  userId: Id;
  role: Role;
  joinedAt: Millis;
  readSeq: number;
  deliveredSeq: number;
  /** The newest seq this participant sent: what lies below it was answered, not unread. */
  sentSeq: number;
  /**
   * The participant's own place: what lies above it is unread to them. Reads and own sends
   * move it forward (as max(readSeq, sentSeq)), "mark as unread" moves it back; readSeq, which
   * the others see, never moves back.
   */
  seenSeq: number;
  readAt: Millis | null;
}

export interface Attachment {
  id: Id;
  uuid: string;
  position: number;
  kind: 'image' | 'file' | 'voice';
  fileName: string;
  storedPath: string;
  size: number;
  mimeType: string;
  durationSeconds: number | null;
  width: number | null;
  height: number | null;
  thumbnailPath: string | null;
}

export interface ReactionSummary {
  emoji: string;
  userIds: Id[];
}

export interface Message {
  id: Id;
  uuid: string;
  conversationId: Id;
  seq: number;
  changeSeq: number;
  senderId: Id;
  kind: MessageKind;
  /** Null once deleted: a tombstone keeps its seq but never its text. */
  content: string | null;
  replyToId: Id | null;
  /** The replied-to message's uuid (documents with UUIDs show that). */
  replyToUuid: string | null;
  clientId: string | null;
  createdAt: Millis;
  editedAt: Millis | null;
  deletedAt: Millis | null;
  /** A moderator deleted it with a reason (issue 20): who, and why; shown with the tombstone. */
  removal?: { deletedBy: Id; reason: string };
  attachments: Attachment[];
  reactions: ReactionSummary[];
  replyCount: number;
  /** An integration's JSON object, serialized (issue 19); absent or null: none. */
  metadataJson?: string | null;
}

/**
 * A conversation as one participant sees it: enough for a room list or a room header
 * without another query per room.
 */
export interface ConversationView {
  conversation: Conversation;
  me: Participant;
  /**
   * Participants with their user summaries: a direct conversation's two; a group's or
   * channel's every one from `view`, at most a few from a room list (`conversation.memberCount`
   * says how many there are).
   */
  members: Member[];
  /**
   * Everyone a rendering may name, by id: the members listed, the creator, the last message's
   * sender (always: a deleted account as `deletedUser`) and reactors.
   */
  people: ReadonlyMap<Id, UserSummary>;
  lastMessage: Message | null;
  /** Messages above my seenSeq that count: not deleted, not thread replies, not deleted for me (Store.unreadStates). */
  unreadCount: number;
  /** Where opening the conversation lands: the first of those (null: nothing unread). */
  firstUnreadSeq: number | null;
}

export interface Member {
  user: UserSummary;
  participant: Participant;
}

export interface Friendship {
  user: UserSummary;
  status: FriendStatus;
  /** True when the other side asked first (an incoming request). */
  incoming: boolean;
  since: Millis;
}

/** "Like" in document 001 is this reaction (DESIGN.md: core model). */
export const LIKE_EMOJI = '👍';

/** What the events log records (issue 19): every change a webhook or the events API reports. */
export const LOGGED_EVENT_TYPES = [
  'message.created',
  'message.updated',
  'message.deleted',
  'reaction.added',
  'reaction.removed',
  'member.joined',
  'member.left',
  'member.role_changed',
  'conversation.created',
  'conversation.updated',
  'conversation.deleted',
] as const;
export type LoggedEventType = (typeof LOGGED_EVENT_TYPES)[number];

/** What an event of the log carries, as the store wrote it in the change's transaction. */
export type LoggedPayload =
  | { message: Message }
  | { message: Message; userId: Id; emoji: string }
  | { userId: Id; role: Role | null }
  | { conversation: Conversation };

/** One event of a tenant's log: `seq` is its cursor, `uuid` (`evt_…`) its stable id (Standard Webhooks' webhook-id). */
export interface LoggedEvent {
  tenantId: Id;
  seq: number;
  uuid: string;
  type: LoggedEventType;
  conversationId: Id;
  createdAt: Millis;
  payload: LoggedPayload;
}

/** A tenant's webhook endpoint (issue 19). The secret is shown on creation only. */
export interface WebhookEndpoint {
  id: Id;
  uuid: string;
  tenantId: Id;
  url: string;
  secret: string;
  /** Empty: every type. */
  eventTypes: LoggedEventType[];
  conversationId: Id | null;
  /** Only message.created events that mention this user or are in a direct conversation with them (a bot's endpoint). */
  mentionUserId: Id | null;
  description: string | null;
  disabledReason: 'admin' | 'failing' | null;
  disabledAt: Millis | null;
  createdBy: Id;
  createdAt: Millis;
  updatedAt: Millis;
  lastSuccessAt: Millis | null;
  lastFailureAt: Millis | null;
  failingSince: Millis | null;
  lastError: string | null;
  /** Deliveries not made yet. */
  pending: number;
}
