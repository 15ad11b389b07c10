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
  /** When a tenant admin or an operator suspended the user (migration 0021); null while active. */
  suspended_at: Generated<number | null>;
  suspension_reason: Generated<string | null>;
  /** 1 for a server operator: an admin over every tenant (granted by `parley operator grant`). */
  is_operator: Generated<number>;
  /** When the account was erased: its content tombstoned, its profile a placeholder. */
  erased_at: Generated<number | null>;
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
  /** "Keep N days" for this conversation (migration 0024); null: the tenant's. */
  retention_days: Generated<number | null>;
  /** Every message with a smaller seq was purged by retention (1: none). */
  purged_before_seq: Generated<number>;
  /** When an admin archived it (migration 0021): read-only, still readable. */
  archived_at: Generated<number | null>;
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
  /** 1 where the member's notification level in force here is `all` (sql/notifications.ts `recomputePushAll`). */
  push_all: Generated<number>;
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
  /**
   * 1 from the append until an edit, delete or reaction stamps a change_seq on it, then null
   * (null too for rows from before migration 0026): only null rows are in
   * messages_conversation_changed, the change reads' index; new messages are read by seq.
   */
  unchanged: number | null;
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
  legal_holds: LegalHoldsTable;
  job_leases: JobLeasesTable;
  message_revisions: MessageRevisionsTable;
  message_hides: MessageHidesTable;
  pins: PinsTable;
  saved_messages: SavedMessagesTable;
  thread_members: ThreadMembersTable;
  message_search: MessageSearchTable;
  notification_settings: NotificationSettingsTable;
  push_subscriptions: PushSubscriptionsTable;
  notification_outbox: NotificationOutboxTable;
  audit_heads: AuditHeadsTable;
  audit_log: AuditLogTable;
  tenant_settings: TenantSettingsTable;
  conversation_sanctions: ConversationSanctionsTable;
  message_reports: MessageReportsTable;
  message_deletions: MessageDeletionsTable;
}

/** What a tenant's admins chose (migration 0021); a null column means the process's configuration. */
export interface TenantSettingsTable {
  tenant_id: number;
  registration: string | null;
  max_upload_bytes: number | null;
  /** Keep messages this many days (the retention job reads it); null keeps them. */
  retention_days: number | null;
  /** JSON array of extra origins for this tenant. */
  allowed_origins: string | null;
  updated_at: number;
}

/** A ban or mute of a user in a conversation (migration 0022): in force while `until` is null or later than now. */
export interface ConversationSanctionsTable {
  conversation_id: number;
  user_id: number;
  kind: string;
  reason: string | null;
  until: number | null;
  created_by: number | null;
  created_at: number;
}

/** A report of a message (migration 0022): once per reporter and message; `state` is 'open' or how it was resolved. */
export interface MessageReportsTable {
  id: Generated<number>;
  tenant_id: number;
  conversation_id: number;
  message_id: number;
  reporter_id: number;
  author_id: number;
  reason: string;
  state: string;
  created_at: number;
  resolved_by: number | null;
  resolved_at: number | null;
}

/** Why a moderator deleted someone else's message (migration 0022). */
export interface MessageDeletionsTable {
  message_id: number;
  deleted_by: number;
  reason: string;
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
/** A conversation or a user whose messages retention never purges while the hold stands. */
export interface LegalHoldsTable {
  tenant_id: number;
  target_type: string;
  target_id: number;
  created_by: number | null;
  created_at: number;
}

/** Who runs a background job until when (migration 0024). */
export interface JobLeasesTable {
  name: string;
  holder: string;
  lease_until: number;
}

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

/** Each tenant's last audit entry (migration 0023): its row lock serializes the tenant's appends. */
export interface AuditHeadsTable {
  tenant_id: number;
  last_seq: number;
  last_hash: string;
}

/** One administrative or moderation action (migration 0023), chained by hash (docs/audit.md). */
export interface AuditLogTable {
  id: Generated<number>;
  tenant_id: number;
  seq: number;
  at: number;
  actor_id: number | null;
  action: string;
  target_type: string;
  target_id: string;
  reason: string | null;
  origin: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}
