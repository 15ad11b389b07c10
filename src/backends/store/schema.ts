// Table types for Kysely. Times are epoch milliseconds (bigint) on both databases, so
// rows read the same from SQLite and PostgreSQL; booleans are not used.
import type { Generated } from 'kysely';

export interface TenantsTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  created_at: number;
  /** Migration 0025: `full` or `none` (content-free pushes and e-mails); null: NOTIFY_CONTENT. */
  notify_content: string | null;
}

export interface UsersTable {
  id: Generated<number>;
  uuid: string;
  tenant_id: number;
  email: string;
  name: string;
  avatar_url: string | null;
  password_hash: string | null;
  external_issuer: string | null;
  external_subject: string | null;
  token_version: number;
  last_seen_at: number | null;
  created_at: number;
  updated_at: number;
  tenant_role: Generated<string>;
  /** 1 for a bot (issue 19): a user without a password, acting through an API key or an incoming webhook. */
  is_bot: Generated<number>;
}

export interface ApiKeysTable {
  id: Generated<number>;
  uuid: string;
  tenant_id: number;
  /** The bot user the key acts as. */
  bot_user_id: number;
  name: string;
  /** Comma-separated: read, write, admin. */
  scopes: string;
  /** SHA-256 of the secret, hex: the secret is shown once and never stored. */
  secret_hash: string;
  created_by: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface IncomingWebhooksTable {
  id: Generated<number>;
  uuid: string;
  tenant_id: number;
  conversation_id: number;
  /** The bot user its messages are sent as. */
  bot_user_id: number;
  name: string;
  /** SHA-256 of the URL's secret, hex. */
  secret_hash: string;
  created_by: number | null;
  created_at: number;
  revoked_at: number | null;
}

export interface InvitesTable {
  id: Generated<number>;
  uuid: string;
  tenant_id: number;
  /** SHA-256 of the code, hex: the code itself is shown once and never stored. */
  code_hash: string;
  email: string | null;
  created_by: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: number | null;
  revoked_at: number | null;
}

export interface FriendshipsTable {
  /** user_a < user_b: one row per pair. */
  user_a: number;
  user_b: number;
  status: string;
  requested_by: number;
  created_at: number;
  updated_at: number;
}

export interface ConversationsTable {
  id: Generated<number>;
  uuid: string;
  tenant_id: number;
  kind: string;
  title: string | null;
  created_by: number | null;
  /** "lowId:highId" for direct conversations: one per pair, enforced by a unique index. */
  direct_key: string | null;
  last_seq: number;
  change_seq: number;
  last_message_at: number | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  /** When the sweep removed the files of this deleted conversation (its attachment rows stay). */
  files_purged_at: number | null;
  /** Current participants (left_at IS NULL), kept with every add and removal. */
  member_count: Generated<number>;
  /** `private` (invite only) or `public` (listed in the tenant's directory, anyone of it joins). */
  visibility: Generated<string>;
  /** The title folded for the directory's search and order (`directoryNameKey`). */
  name_key: Generated<string>;
  /** An integration's JSON object, serialized (issue 19); null when none. */
  metadata: Generated<string | null>;
}

export interface ParticipantsTable {
  conversation_id: number;
  user_id: number;
  role: string;
  joined_at: number;
  left_at: number | null;
  muted: number;
  read_seq: number;
  delivered_seq: number;
  /** The participant's newest own message (unread counts start above max(read_seq, sent_seq)). */
  sent_seq: Generated<number>;
  /** The participant's own place: above it is unread to them (moves back with "mark as unread"; read_seq never does). */
  seen_seq: Generated<number>;
  read_at: number | null;
}

export interface MessagesTable {
  id: Generated<number>;
  uuid: string;
  conversation_id: number;
  seq: number;
  change_seq: number;
  sender_id: number;
  kind: string;
  content: string | null;
  reply_to_id: number | null;
  reply_count: number;
  client_id: string | null;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  /** An integration's JSON object, serialized (issue 19); null when none. */
  metadata: Generated<string | null>;
}

export interface AttachmentsTable {
  id: Generated<number>;
  uuid: string;
  tenant_id: number;
  owner_id: number;
  /** Null while pending (uploaded before its message). */
  message_id: number | null;
  position: number;
  kind: string;
  file_name: string;
  stored_path: string;
  size: number;
  mime_type: string;
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
  thumbnail_path: string | null;
  created_at: number;
}

export interface ReactionsTable {
  id: Generated<number>;
  uuid: string;
  message_id: number;
  user_id: number;
  emoji: string;
  created_at: number;
}

export interface MentionsTable {
  message_id: number;
  user_id: number;
}

export interface BlocksTable {
  blocker_id: number;
  blocked_id: number;
  created_at: number;
}

/** Every table, as Kysely sees the database: queries built on `Kysely<Database>` come back typed by their selection. */
export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  invites: InvitesTable;
  api_keys: ApiKeysTable;
  incoming_webhooks: IncomingWebhooksTable;
  friendships: FriendshipsTable;
  blocks: BlocksTable;
  conversations: ConversationsTable;
  participants: ParticipantsTable;
  messages: MessagesTable;
  attachments: AttachmentsTable;
  reactions: ReactionsTable;
  mentions: MentionsTable;
  server_state: ServerStateTable;
  message_revisions: MessageRevisionsTable;
  message_hides: MessageHidesTable;
  pins: PinsTable;
  saved_messages: SavedMessagesTable;
  thread_members: ThreadMembersTable;
  message_search: MessageSearchTable;
  notification_settings: NotificationSettingsTable;
  push_subscriptions: PushSubscriptionsTable;
  notification_outbox: NotificationOutboxTable;
}

/** A user's notification setting (migration 0013); conversation_id 0 is the user's own, for every conversation. */
export interface NotificationSettingsTable {
  user_id: number;
  conversation_id: number;
  level: string | null;
  mute_until: number;
}

/** Where a device receives pushes (migration 0013). */
export interface PushSubscriptionsTable {
  id: Generated<number>;
  user_id: number;
  kind: string;
  device_id: string;
  endpoint: string;
  p256dh: string | null;
  auth: string | null;
  created_at: number;
}

/** A push that may be due (migration 0013): written with its message, removed once sent or cancelled. */
export interface NotificationOutboxTable {
  id: Generated<number>;
  user_id: number;
  conversation_id: number;
  message_id: number;
  seq: number;
  due_at: number;
  lease_until: number;
  attempts: number;
}

/** A user's place in a thread (the replies to root_id) and whether they follow it. */
export interface ThreadMembersTable {
  root_id: number;
  user_id: number;
  conversation_id: number;
  /** Replies with a higher seq are unread to the user. */
  read_seq: number;
  following: number;
  updated_at: number;
}

/** Facts about the database as a whole (key 'epoch': the history's epoch). */
export interface ServerStateTable {
  key: string;
  value: string;
}

/** An edited message's earlier text (migration 0011). */
export interface MessageRevisionsTable {
  id: Generated<number>;
  message_id: number;
  editor_id: number;
  content: string;
  written_at: number;
  replaced_at: number;
}

/** A message one user deleted for themselves only. */
export interface MessageHidesTable {
  user_id: number;
  message_id: number;
  conversation_id: number;
  seq: number;
  hidden_at: number;
}

export interface PinsTable {
  conversation_id: number;
  message_id: number;
  pinned_by: number;
  pinned_at: number;
}

export interface SavedMessagesTable {
  id: Generated<number>;
  user_id: number;
  message_id: number;
  conversation_id: number;
  saved_at: number;
}

/**
 * The search index (0009-search, sql/search.ts): rowid is the message's id; terms its folded
 * words (an FTS5 column on SQLite, a tsvector on PostgreSQL).
 */
export interface MessageSearchTable {
  rowid: number;
  terms: string;
}
