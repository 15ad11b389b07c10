import type { AuditEntry, AuditFields } from '../../core/audit/ports.js';
import type {
  NotifyContent,
  LoggedEvent,
  LoggedEventType,
  WebhookEndpoint,
  ApiKey,
  ApiKeyScope,
  Attachment,
  IncomingWebhook,
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
  Visibility,
  Invite,
  LegalHold,
  Tenant,
  TenantRole,
  User,
  UserSummary,
} from '../../core/model.js';
import type { CacheChange, ConversationRef } from '../../core/events.js';

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
  /** A bot (issue 19): never its tenant's first admin by default, has no password. */
  isBot?: boolean;
}

export interface NewApiKey {
  tenantId: Id;
  botUserId: Id;
  name: string;
  scopes: ApiKeyScope[];
  secretHash: string;
  createdBy: Id | null;
  createdAt: Millis;
}

export interface NewIncomingWebhook {
  tenantId: Id;
  conversationId: Id;
  botUserId: Id;
  name: string;
  secretHash: string;
  createdBy: Id | null;
  createdAt: Millis;
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
  /** Default `private`. */
  visibility?: Visibility;
  /** An integration's JSON object, serialized (issue 19). */
  metadataJson?: string | null;
}

/** An attachment before it is stored: what the files service measured; the store numbers it. */
export interface NewAttachment extends Omit<Attachment, 'id' | 'uuid' | 'position'> {
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
  /** When the conversation it was sent in was deleted (null while it lives, or pending). */
  conversationDeletedAt: Millis | null;
  createdAt: Millis;
}

/** The most one owner may have pending (uploaded, not yet sent); 0 leaves a bound off. */
export interface PendingQuota {
  maxFiles: number;
  maxBytes: number;
}

/** What one owner has pending now. */
export interface PendingUsage {
  files: number;
  bytes: number;
}

export interface NewMessage {
  conversationId: Id;
  senderId: Id;
  kind: MessageKind;
  content: string | null;
  replyToId: Id | null;
  /**
   * The sender's local_temp_id: a second send with the same one into the same conversation
   * returns the first message; in another conversation it is a new message.
   */
  clientId: string | null;
  attachments: NewAttachment[];
  createdAt: Millis;
  /**
   * The message's search index row (MessageStore.searchRowOf), cut into words where the send
   * is handled, so the append's transaction (one at a time on SQLite) does not segment text.
   * Absent: the append computes it.
   */
  searchRow?: string;
  /** Push notifications (issue 19): the outbox rows go in with the message; absent, none. */
  notify?: NotifyOnAppend;
  /** An integration's JSON object, serialized (issue 19). */
  metadataJson?: string | null;
}

/** What the append needs to write a message's notification outbox rows. */
export interface NotifyOnAppend {
  /** When a push is due unless a device acks or the user reads first. */
  dueAt: Millis;
  /** A direct conversation: `mentions` covers it as it covers a mention. */
  direct: boolean;
  mentionIds: readonly Id[];
}

export interface AppendResult {
  message: Message;
  /** False when clientId matched an earlier message of the same sender in the same conversation (a retry). */
  created: boolean;
}

/** A message `appendMessages` left out: its conversation was held by another transaction. */
export interface DeferredAppend {
  deferred: true;
}

export type AppendOutcome = AppendResult | DeferredAppend;

export const isDeferred = (o: AppendOutcome): o is DeferredAppend => 'deferred' in o;

export interface AppendOptions {
  /**
   * Conversations to take only if free right now: they were held by another transaction
   * lately (a stopped process), and waiting for them again would hold up the rest.
   */
  readonly probe?: ReadonlySet<Id>;
  /** How long to wait for a conversation held elsewhere, instead of the store's lock wait. */
  readonly waitMs?: number;
  /**
   * Called with the outcomes once the batch has committed, before the promise resolves:
   * readers see it and a killed process keeps it; the promise waits for the disk besides
   * (SQLite's WAL flush). Not called by a store that cannot tell the two apart: there the
   * promise is the only word.
   */
  readonly onCommit?: (outcomes: readonly AppendOutcome[]) => void;
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

/** A position in the room list's order: last activity (last message, else creation), then id. */
export interface ActivityCursor {
  at: Millis;
  id: Id;
}
/** What a snapshot (Store.snapshot) can read; each call answers as the Store's method of the same name. */
export type StoreReads = Pick<
  Store,
  'conversationById' | 'conversationByUuid' | 'participant' | 'members' | 'messageById' | 'messagesBySeq' | 'changesSince' | 'userSummaries'
>;

/**
 * Every rule a store enforces itself (its contract below), by what a refusal means for its
 * caller: each kind names its codes once.
 */
export const STORE_ERRORS_BY_KIND = {
  not_found: [
    /** The conversation is deleted, or the sender no longer one of its participants. */
    'conversation_not_found',
    'message_not_found',
    /** A pending attachment not the sender's, or claimed already. */
    'upload_not_found',
  ],
  conflict: [
    /** An edit or a reaction of a deleted message. */
    'message_deleted',
    /** The change would leave a conversation with participants and no admin. */
    'last_admin',
  ],
  full: ['conversation_full', 'upload_quota_exceeded'],
} as const;

/** What a refused store call means for its caller. */
export type StoreErrorKind = keyof typeof STORE_ERRORS_BY_KIND;
export type StoreErrorCode = (typeof STORE_ERRORS_BY_KIND)[StoreErrorKind][number];

const STORE_ERROR_KINDS = new Map<StoreErrorCode, StoreErrorKind>(
  Object.entries(STORE_ERRORS_BY_KIND).flatMap(([kind, codes]) => codes.map((code) => [code, kind as StoreErrorKind] as const)),
);

/** Whether `code` names a StoreError (a refusal read back from the database). */
export const isStoreErrorCode = (code: string): code is StoreErrorCode => STORE_ERROR_KINDS.has(code as StoreErrorCode);

/** A store call refused by one of the store's own rules; nothing of it was written. The core maps it to its domain error. */
export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  constructor(readonly code: StoreErrorCode) {
    super(code);
    this.kind = STORE_ERROR_KINDS.get(code)!;
    this.name = 'StoreError';
  }
}

/** Thrown by a store when a unique constraint refuses a write; the core turns it into a domain error. */
export class UniqueViolation extends Error {
  constructor(readonly constraint: string) {
    super(`unique violation: ${constraint}`);
    this.name = 'UniqueViolation';
  }
}

/** A transaction whose connection died before it asked to commit: nothing of it was written. */
export class NotCommitted extends Error {
  constructor(override readonly cause: unknown) {
    super(`not committed: ${(cause as Error)?.message ?? cause}`);
    this.name = 'NotCommitted';
  }
}

/** A lock not granted within the time the statement allowed (PostgreSQL's lock_timeout). */
export class LockNotAvailable extends Error {
  constructor() {
    super('lock not available');
    this.name = 'LockNotAvailable';
  }
}

/**
 * Everything Parley persists. Contract (tested by test/contract/store.contract.ts against
 * every implementation):
 * - `appendMessages` commits its whole batch in one transaction or nothing; within it each
 *   conversation's `last_seq` and `change_seq` grow by one per new message, so seq is gapless
 *   and strictly increasing per conversation, also with several processes on one database.
 *   A message whose (sender, conversation, clientId) already exists is returned with
 *   `created: false` and takes no seq; the same (sender, clientId) in another conversation
 *   is a new message, never the other conversation's. The sender's delivered and sent
 *   watermarks move to its own message; its read watermark does not (only reading marks read).
 *   Several processes on one database: a conversation whose row another transaction holds
 *   for longer than the store's lock wait (or at all, for `probe` conversations) is left
 *   out: every message of it comes back `deferred`, nothing of it written, and the rest of
 *   the batch commits. A stopped process holding one conversation never holds up the others.
 *   A new message into a deleted conversation, or from a sender who is not a participant
 *   when it commits, fails with StoreError('conversation_not_found') and commits nothing
 *   (the core checks through cached reads, CachedStore; this is the check no race gets past).
 *   An attachment with `pendingId` claims that pending attachment in the same transaction;
 *   when it is not pending or not the sender's, the append fails with
 *   StoreError('upload_not_found') and commits nothing.
 * - A pending attachment is claimed at most once; `deletePendingAttachments` never deletes
 *   a claimed one.
 * - `createPendingAttachments` with a quota counts the owner's pending attachments and inserts
 *   the new ones under a lock on the owner, so calls at once — from any number of processes
 *   on the database — never leave more pending than the quota: the call that would go over
 *   fails with StoreError('upload_quota_exceeded') and inserts nothing.
 * - `deletedConversationFiles` lists the deleted conversations not yet marked by
 *   `markConversationFilesPurged`, each with the file keys of its attachments; the rows stay
 *   (the messages stay as tombstones, their attachments as metadata).
 * - `editMessage`, `deleteMessage` and `setReaction` take the conversation's next change_seq
 *   and stamp it on the message, so `changesSince` finds every change after a cursor (the
 *   append's change_seq is the message's too, but a new message is read by seq).
 * - `deleteMessage` keeps the row (seq stays gapless) and clears its content; its revisions
 *   and pins go in the same transaction. `editMessage` keeps the text it replaces as a
 *   revision, in the edit's transaction.
 * - Each change decides on the message as every earlier change of its conversation left it
 *   (they queue on the conversation's row): an edit or a reaction of a deleted message fails
 *   with `message_deleted` and changes nothing; a second delete changes nothing
 *   (`changed: false`), so a parent's reply_count falls once per deleted reply.
 * - Watermarks only move forward (`markRead`, `markDelivered`) and never past `last_seq`.
 * - `createConversation` of kind direct returns the existing conversation for the same pair.
 * - A conversation with participants always keeps an admin (unless it never had one: a direct
 *   conversation): `removeParticipant` and `setRole` check the last-admin rule and write in
 *   one transaction under the conversation's lock, so concurrent changes cannot both pass it.
 *   `addParticipants` never changes a current participant's role.
 * - Pages are seq ranges; nothing reads messages with OFFSET or COUNT.
 * - `updated_at`/`created_at` are the caller's clock (epoch ms).
 */
/** Where a page of the channel directory ends: the next one starts after this (name key, id). */
export interface DirectoryCursor {
  nameKey: string;
  id: Id;
}

/** A public channel as the directory lists it, and whether the asking user is in it. */
export interface DirectoryEntry {
  conversation: Conversation;
  member: boolean;
  /** Its place in the directory's order, for the next page's cursor. */
  nameKey: string;
}

/** The tenants' public channels (issue 18): listed from the conversations themselves. */
export interface DirectoryStore {
  /**
   * The live public channels of `tenantId`, ordered by name key (the folded title,
   * `directoryNameKey`) then id, at most `limit`, after `after`; with `q`, only those whose
   * name key contains `q` folded the same way. `member`: `userId` is a current participant.
   * Reads an index of public channels: no OFFSET, no COUNT (member_count is kept).
   */
  publicChannels(tenantId: Id, userId: Id, query: { q?: string; after?: DirectoryCursor; limit: number }): Promise<DirectoryEntry[]>;
}

/** A conversation retention may purge from: its "keep N days" (its own, else its tenant's) and where it stands. */
export interface RetentionCandidate {
  conversationId: Id;
  tenantId: Id;
  retentionDays: number;
  purgedBeforeSeq: number;
}

/** What one purge batch removed. */
export interface PurgeBatch {
  /** Messages deleted (0: nothing older than the cutoff is left before a newer or held one). */
  purged: number;
  /** The conversation's watermark after the batch: every smaller seq is gone. */
  purgedBeforeSeq: number;
  /** The file keys (files and thumbnails) of the purged messages, for the file store to delete. */
  fileKeys: string[];
}

/** Retention, legal holds and the leases of background jobs (issue 20, migration 0024). */
export interface RetentionStore {
  /** The tenant's "keep N days"; null: keep forever. */
  tenantRetention(tenantId: Id): Promise<number | null>;
  /** Sets it, stamped `at` (the caller's clock, as every write of tenant_settings). */
  setTenantRetention(tenantId: Id, days: number | null, at: Millis): Promise<void>;
  /** A conversation's own "keep N days" (null: its tenant's); the conversation's read reflects it. */
  setConversationRetention(conversationId: Id, days: number | null): Promise<void>;
  /** Places (on) or lifts a hold; false when it was already so. */
  setLegalHold(hold: LegalHold, on: boolean): Promise<boolean>;
  legalHolds(tenantId: Id): Promise<LegalHold[]>;
  /**
   * Live conversations after `afterId` (id order, at most `limit`) with a retention (their own,
   * else their tenant's), not under a legal hold, with messages left above their watermark.
   */
  retentionCandidates(afterId: Id, limit: number): Promise<RetentionCandidate[]>;
  /**
   * One bounded transaction: deletes, from the conversation's watermark up, the longest run of
   * at most `limit` consecutive messages created before `cutoff` whose sender is not under a
   * legal hold (a newer or held message ends the run: the watermark stays one seq, never a
   * gap), with everything that hangs on them (attachments, reactions, mentions, revisions,
   * hides, pins, saves, thread reads, search rows, pending pushes; replies keep their place
   * and lose their root), and moves the watermark past them. A conversation under a hold
   * purges nothing. The watermark never moves back.
   */
  purgeMessages(conversationId: Id, cutoff: Millis, limit: number): Promise<PurgeBatch>;
  /**
   * Takes or renews the lease of job `name` for `holder` until `until`: true when `holder` now
   * has it (it was free, run out at `now`, or already `holder`'s), false while another holds it.
   */
  claimJob(name: string, holder: string, until: Millis, now: Millis): Promise<boolean>;
  /**
   * Where an export reads: the (conversation id, seq) of at most `limit` messages of live
   * conversations in `scope` (one conversation, the messages one user sent, a tenant), in
   * that order, after `after`. Purged messages are gone; tombstones are included.
   */
  exportPositions(scope: ExportScope, after: ExportCursor, limit: number): Promise<ExportCursor[]>;
}

/** What an export covers, as the store selects it. */
export type ExportScope = { conversationId: Id } | { senderId: Id } | { tenantId: Id };
/** A place in an export: the last message given (conversation id, seq); { 0, 0 } before the first. */
export interface ExportCursor {
  conversationId: Id;
  seq: number;
}

export interface Store extends RetentionStore, AccountStore, AdminStore, FriendStore, ConversationStore, ParticipantStore, ReceiptStore, MessageStore, AttachmentStore, DirectoryStore, CurationStore, UnreadStore, ThreadStore, SearchStore, NotificationStore, WebhookStore, AuditStore, ModerationStore {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * How many `appendMessages` calls may run at once and still take their seqs in the order
   * they were called (so one sender's messages keep their order across batches).
   */
  readonly appendPipeline: number;
  /**
   * True: calls running at once take their seqs in the order they were called, so they may
   * share conversations (SQLite: one writer runs them in turn). False (PostgreSQL: each on a
   * connection of its own): calls running at once must not share a conversation.
   */
  readonly appendsInCallOrder: boolean;
  migrate(): Promise<void>;
  /**
   * The history's epoch: every seq and change_seq a client holds was read in it. A database
   * restored from a backup has another one (`renewEpoch`), so no cursor of the history it
   * replaced is taken for one of its own.
   */
  epoch(): Promise<string>;
  /** Gives the history a new epoch (after a restore) and returns it. */
  renewEpoch(): Promise<string>;
  close(): Promise<void>;

  /**
   * Runs `fn` with reads that all see the database as of one moment, no earlier than the
   * call (a read-only transaction: REPEATABLE READ on PostgreSQL, a read transaction on
   * SQLite): a write committed while `fn` runs — by this store or another process — is
   * invisible to every read of it, before and after the write alike. `fn` reads through
   * `reads` only, and should be short: it holds a database connection (and, on an in-memory
   * SQLite database, this store's other statements) until it settles.
   */
  snapshot<T>(fn: (reads: StoreReads) => Promise<T>): Promise<T>;

  /**
   * Runs `write` on a store bound to one transaction and appends, in that same transaction, the
   * audit entries `audit` names for its result (null or none: none; several are appended in
   * their order, e.g. a report's resolution with the ban it made): the action commits with its entry or
   * not at all (issue 20, docs/audit.md). A write that throws, or an append that fails, rolls
   * everything back. A store write run by `write` that refuses in its own transaction (it
   * catches its failure and returns a refusal such as `last_admin`) is rolled back to where it
   * began (a savepoint), so `audit` may answer null for it and nothing of it commits.
   * `write` must go through `tx` only (and sequentially): the transaction holds a connection
   * (on SQLite, the one writer) until it settles. A cached store evicts what `write` changed
   * once the transaction has committed (or rolled back).
   */
  audited<T>(write: (tx: Store) => Promise<T>, audit: (result: T) => AuditAppend | readonly AuditAppend[] | null): Promise<T>;
}

/** An audit entry to append inside an action's transaction: its fields, and the seal that hashes it once its seq and link are known. */
export interface AuditAppend {
  fields: AuditFields;
  seal: (link: { seq: number; prevHash: string }) => string;
}

/**
 * How a CachedStore's evictions reach every process of the deployment (the hub carries them on
 * the bus's control channel; `LocalInvalidator` for one process alone). A change through a
 * CachedStore awaits `invalidate` before it resolves, so a client told "removed" or "deleted"
 * is refused at once by whichever process it asks next.
 */
export interface CacheInvalidator {
  /**
   * Tells every process, this one included (before it returns), to forget what `change` made
   * stale; resolves once every other process has it on its way, ahead of anything the caller
   * does next. Never rejects: a lost invalidation is followed by `all` when the bus is back.
   */
  invalidate(change: CacheChange): Promise<void>;
  /** `listener` is called for every change any process announces, this process's own included. */
  onInvalidate(listener: (change: CacheChange) => void): void;
}

/** What a tenant's admins chose (issue 20); null: the process's configuration applies. */
export interface TenantSettings {
  /** A REGISTRATION mode for this tenant's invites and sign-ups. */
  registration: string | null;
  maxUploadBytes: number | null;
  /** Keep messages this many days (the retention job reads it); null: keep them. */
  retentionDays: number | null;
  /** The only origins whose pages may act for this tenant's users; null or empty: the process's ALLOWED_ORIGINS. */
  allowedOrigins: string[] | null;
}

/**
 * Administration (issue 20): tenants and users as their admins and the server's operators
 * see them, suspension, roles, tenant settings, archiving, and the erasure of a user.
 *
 * - Lists page by id after a cursor (the `(tenant_id, id)` index): no OFFSET, no COUNT.
 * - `suspendUser` sets the suspension and revokes every token in one statement; a suspended
 *   user's row is otherwise untouched, so `reactivateUser` gives the account back as it was
 *   (its old tokens stay revoked).
 * - A tenant always keeps an active (not suspended, not erased) human admin: `setTenantRole`,
 *   `suspendUser` and `eraseProfile` of its last one change nothing and answer `last_admin`;
 *   they take the tenant's row first, so two concurrent demotions cannot both pass the check.
 * - Erasure is in steps the core runs in order: `liveMessagesOf` (each then tombstoned by
 *   `deleteMessage`, which takes a change_seq, so a resume sees it), `reactionsOf` (each
 *   removed by `setReaction`), then `scrubErasedContent` and `eraseProfile`.
 */
export interface AdminStore {
  /** Tenants with id > after, by id, at most `limit` (the operators' list). */
  tenants(after: Id, limit: number): Promise<Tenant[]>;
  /** The tenant's users with id > after, by id, at most `limit`; `query` keeps those whose email or name contains it (case-insensitive). */
  tenantUsers(tenantId: Id, page: { after: Id; limit: number; query?: string }): Promise<User[]>;
  /** Suspends the user (the first suspension's time and reason stay) and revokes every token: the new token version, or `last_admin`, or undefined (no such user). */
  suspendUser(userId: Id, at: Millis, reason: string | null): Promise<number | 'last_admin' | undefined>;
  /** Lifts a suspension; false when the user was not suspended (or is erased: erasure is final). */
  reactivateUser(userId: Id, at: Millis): Promise<boolean>;
  /** Makes the user a server operator or not; false: no such user. */
  setOperator(userId: Id, on: boolean, at: Millis): Promise<boolean>;
  /** Sets the user's role in their tenant; `last_admin` when it would leave none (see the rule above). */
  setTenantRole(userId: Id, role: TenantRole, at: Millis): Promise<'changed' | 'unchanged' | 'last_admin'>;
  /** The ids of the user's messages not yet deleted, oldest first, at most `limit`. */
  liveMessagesOf(senderId: Id, limit: number): Promise<Id[]>;
  /** Reactions the user left on messages not deleted, at most `limit`. */
  reactionsOf(userId: Id, limit: number): Promise<{ messageId: Id; emoji: string }[]>;
  /**
   * What remains of a user's content once every message of theirs is a tombstone: the
   * messages' metadata, every attachment row they own (sent or pending), the revisions they
   * wrote, their reactions on deleted messages, their saved and hidden messages, pins, notification settings and push
   * subscriptions. Returns the file keys (files and thumbnails) that nothing references now.
   */
  scrubErasedContent(userId: Id): Promise<string[]>;
  /**
   * The profile erased: name "Deleted user", the e-mail freed (an `.invalid` address of the
   * uuid), no password, avatar or external identity, suspended and every token revoked.
   * Returns the new token version, `last_admin`, or undefined (no such user).
   */
  eraseProfile(userId: Id, at: Millis): Promise<number | 'last_admin' | undefined>;
  tenantSettings(tenantId: Id): Promise<TenantSettings>;
  /** Whether some tenant's allowed_origins holds `origin` (as stored: lower case). */
  originListed(origin: string): Promise<boolean>;
  /** Changes the given settings (undefined keeps one, null clears it) and returns them all. */
  putTenantSettings(tenantId: Id, changes: Partial<TenantSettings>, at: Millis): Promise<TenantSettings>;
  /** The tenant's live conversations with id > after, by id, at most `limit`. */
  tenantConversations(tenantId: Id, page: { after: Id; limit: number }): Promise<(Conversation & { archivedAt: Millis | null })[]>;
  /**
   * Archives (at) or unarchives (null) a live conversation; false when there is none. The
   * core refuses sends into an archived conversation (`conversation_archived`).
   */
  setConversationArchived(conversationId: Id, at: Millis | null): Promise<boolean>;
  /** When the conversation was archived, null if not (or no such conversation). Cacheable: only `setConversationArchived` changes it. */
  conversationArchivedAt(conversationId: Id): Promise<Millis | null>;
}

/** Tenants, users and invites. */
export interface AccountStore {
  defaultTenant(): Promise<Tenant>;
  tenantById(id: Id): Promise<Tenant | undefined>;
  tenantByUuid(uuid: string): Promise<Tenant | undefined>;
  /** Creates the tenant with this uuid, or returns it when it exists. */
  /** `at`: the caller's clock (the core passes its own; tests may leave it to the store's). */
  ensureTenant(uuid: string, name: string, at?: Millis): Promise<Tenant>;
  /** Creates the tenant with this uuid; undefined when one exists already (two callers: one gets it). */
  createTenant(uuid: string, name: string, at?: Millis): Promise<Tenant | undefined>;
  /**
   * Sets what the tenant's pushes and e-mails say (null: the process default); read back by
   * tenantById and by the notifications claimed after it (claimNotifications).
   */
  setTenantNotifyContent(tenantId: Id, content: NotifyContent | null): Promise<void>;

  /**
   * Throws UniqueViolation('users_tenant_email') for an email taken by a local account (one
   * without an external subject) of the tenant; accounts of an identity provider are unique
   * by (tenant, issuer, subject) only, so they never collide with a local one by e-mail.
   * Without `tenantRole`, the tenant's first user is its `admin` and every later one a
   * `member`, also when several are created at once.
   */
  createUser(user: NewUser, at?: Millis): Promise<User>;
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
  /**
   * The summaries of the users that exist among `ids` (a fresh map each call). A summary (uuid,
   * name, e-mail, avatar) is fixed when the user is created: only `eraseProfile` changes one, so it
   * may be cached (CachedStore), which evicts it on that write.
   */
  userSummaries(ids: readonly Id[]): Promise<Map<Id, UserSummary>>;
  /** Users of the tenant whose email contains `query` (case-insensitive), by email. */
  searchUsers(tenantId: Id, query: string, limit: number, excludeUserId: Id): Promise<UserSummary[]>;
  /** Revokes every token issued so far; returns the new version. */
  bumpTokenVersion(userId: Id, at: Millis): Promise<number>;
  /** Replaces the password hash and revokes every token issued so far, in one statement; returns the new version (undefined: no such user). */
  setPasswordHash(userId: Id, passwordHash: string, at: Millis): Promise<number | undefined>;

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

  createApiKey(key: NewApiKey): Promise<ApiKey>;
  /**
   * The key whose secret digests to `secretHash`, revoked or not, with its digest. Read on
   * every request a key signs, never cached: a revocation holds on every process at once.
   */
  apiKeyBySecretHash(secretHash: string): Promise<(ApiKey & { secretHash: string }) | undefined>;
  /** The tenant's keys, newest first, at most `limit`. */
  apiKeys(tenantId: Id, limit: number): Promise<ApiKey[]>;
  /** Revokes the tenant's key with this uuid (once); the key as it is afterwards, undefined when the tenant has none. */
  revokeApiKey(tenantId: Id, uuid: string, at: Millis): Promise<ApiKey | undefined>;
  /** Sets last_used_at to `at` unless it is after `notAfter` already: at most one write per key per interval. */
  touchApiKey(id: Id, at: Millis, notAfter: Millis): Promise<void>;

  createIncomingWebhook(hook: NewIncomingWebhook): Promise<IncomingWebhook>;
  /** The hook with this uuid, revoked or not, with its digest. */
  incomingWebhookByUuid(uuid: string): Promise<(IncomingWebhook & { secretHash: string }) | undefined>;
  /** A conversation's hooks, newest first. */
  incomingWebhooks(conversationId: Id, limit: number): Promise<IncomingWebhook[]>;
  /** Revokes the conversation's hook with this uuid (once); the hook afterwards, undefined when it has none. */
  revokeIncomingWebhook(conversationId: Id, uuid: string, at: Millis): Promise<IncomingWebhook | undefined>;
}

/** Friendships and blocks between users. */
export interface FriendStore {
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

  /**
   * `blocker` blocks `blocked`, and any friendship (or request) of the pair ends, in one
   * transaction. Blocks are one-way rows: both may block each other, and each lifts only
   * their own. Returns false when that block existed already (nothing changes then).
   */
  block(blocker: Id, blocked: Id, at: Millis): Promise<boolean>;
  /** Lifts `blocker`'s block of `blocked`; returns whether there was one. */
  unblock(blocker: Id, blocked: Id): Promise<boolean>;
  /** Whom `blocker` blocks, newest first. */
  blocksBy(blocker: Id): Promise<{ userId: Id; at: Millis }[]>;
  /**
   * The block rows between `a` and `b`, either way: who blocks whom. Changed only by `block` and
   * `unblock` of the pair (CachedStore caches it and evicts the pair on each).
   */
  blocksBetween(a: Id, b: Id): Promise<{ blocker: Id; blocked: Id }[]>;
  /** Everyone in a block with `userId`, either way. */
  blockedEitherWay(userId: Id): Promise<Id[]>;
}

/** Conversations themselves: created, found, renamed, deleted. */
export interface ConversationStore {
  createConversation(conversation: NewConversation, at: Millis): Promise<Conversation>;
  directConversation(tenantId: Id, a: Id, b: Id): Promise<Conversation | undefined>;
  conversationById(id: Id): Promise<Conversation | undefined>;
  conversationByUuid(uuid: string): Promise<Conversation | undefined>;
  /**
   * What never changes about a conversation, found by id or uuid, deleted or not: its id, uuid,
   * tenant, kind and, for a direct one, its two people (lower id first; a direct conversation
   * never changes hands). A cache may keep it for good (CachedStore): whether the
   * conversation still lives and who is in it is `memberRole`'s to say.
   */
  conversationRef(key: Id | string): Promise<ConversationRef | undefined>;
  updateConversation(conversationId: Id, changes: { title?: string | null; visibility?: Visibility; metadataJson?: string | null }, at: Millis): Promise<Conversation | undefined>;
  /** Soft delete: the conversation disappears from every lookup; its rows stay. */
  deleteConversation(conversationId: Id, at: Millis): Promise<void>;
}

/** Who is in which conversation, with which role, and who relates to whom through them. */
export interface ParticipantStore {
  participant(conversationId: Id, userId: Id): Promise<Participant | undefined>;
  /**
   * The role of a current participant of a live conversation; undefined when they are not one
   * (never were, left) or the conversation is deleted. Only the role, never the watermarks, so
   * it may be cached (CachedStore): it changes only through `addParticipants`,
   * `removeParticipant`, `setRole` and `deleteConversation`, which evict it.
   */
  memberRole(conversationId: Id, userId: Id): Promise<Role | undefined>;
  /** Current participants with their user summaries, by join order. */
  members(conversationIds: readonly Id[]): Promise<Member[]>;
  /**
   * The user's current conversations, most recent activity first (coalesce(last_message_at,
   * created_at), then id, both descending). With `page`: at most `limit`, only those after
   * the cursor `before` in that order (the last one of the previous page).
   */
  memberships(userId: Id, page?: { limit: number; before?: ActivityCursor }): Promise<Membership[]>;
  /**
   * At most `perConversation` current participants of each conversation (lowest user ids
   * first), with their summaries: a room list's preview, read through the participants key
   * without reading every member (a direct conversation's two always fit in 2).
   */
  memberPreview(conversationIds: readonly Id[], perConversation: number): Promise<Member[]>;
  /** Users who share a conversation with this user (presence goes to them). */
  partnerIds(userId: Id): Promise<Id[]>;
  /**
   * The people related to `userId` in a way presence may follow, among `among` when given:
   * `shared` — in a live group or channel with them (not deleted, both current participants);
   * `direct` — the other one of a live direct conversation; `friends` — accepted friends.
   * Symmetric: `a` is in b's lists exactly when `b` is in a's. What follows from these (and
   * from blocks) is the core's to decide.
   */
  presencePeers(userId: Id, among?: readonly Id[]): Promise<{ shared: Id[]; direct: Id[]; friends: Id[] }>;

  /**
   * Adds participants, or brings back ones who left (with the role given now); a current
   * participant is left exactly as they are (insert if absent, never an upsert of the role).
   * Returns the users added or brought back. A new participant starts with everything before
   * its arrival read (read_seq = last_seq). Keeps the conversation's member_count; past
   * `maxMembers` current participants it fails with StoreError('conversation_full') and adds
   * no one (atomic with concurrent adds, also across processes). With `publicOnly` (a join
   * from the directory) it fails with StoreError('conversation_not_found') unless the
   * conversation is, under its lock, a live public channel. A user banned from the
   * conversation at `at` (ModerationStore) is never added: left out of the result.
   */
  addParticipants(conversationId: Id, participants: readonly { userId: Id; role: Role }[], at: Millis, opts?: { maxMembers?: number; publicOnly?: boolean }): Promise<Id[]>;
  /**
   * Marks the participant as gone (left_at), keeping member_count; returns whether they were a
   * participant. Throws StoreError('last_admin') rather than remove the only admin of a
   * conversation that has other participants.
   */
  removeParticipant(conversationId: Id, userId: Id, at: Millis): Promise<boolean>;
  /**
   * Changes a current participant's role; returns whether they were one. Throws
   * StoreError('last_admin') rather than demote the only admin.
   */
  setRole(conversationId: Id, userId: Id, role: Role, at: Millis): Promise<boolean>;
  /**
   * The member's current role (undefined: not a member), read after taking the conversation's
   * lock that every membership and role change takes: inside `audited` no change of it commits
   * between this read and the transaction's end (a moderator's ban cannot meet a promotion).
   */
  lockedRole(conversationId: Id, userId: Id): Promise<Role | undefined>;
}

/** Each participant's watermarks (delivered, read). */
export interface ReceiptStore {
  /** Moves read_seq (and delivered_seq) up to `seq`, capped at last_seq; returns the new read_seq, or null if nothing moved. */
  markRead(conversationId: Id, userId: Id, seq: number, at: Millis): Promise<number | null>;
  markDelivered(updates: readonly { conversationId: Id; userId: Id; seq: number }[]): Promise<void>;
}

/** A participant's unread messages: above their own place, not deleted. */
export interface UnreadState {
  seenSeq: number;
  unreadCount: number;
  /** The first message above seenSeq that counts (see UnreadStore); null when there is none. */
  firstUnreadSeq: number | null;
}

/**
 * Each participant's own place (seen_seq): the messages above it are unread to them, but for
 * deleted messages, thread replies (they count in their thread's unread, ThreadStore) and
 * those the participant deleted for themselves (message_hides). It moves forward with reads
 * (`raiseSeen`) and own sends that are not thread replies (the append), and
 * back only with "mark as unread" (`lowerSeen`); read_seq, the receipt others see, never does.
 */
export interface UnreadStore {
  /** The user's unread state in each of these conversations they are in; no COUNT over the messages that count. */
  unreadStates(userId: Id, conversationIds: readonly Id[]): Promise<Map<Id, UnreadState>>;
  /** Moves seen_seq up to `seq` (capped at last_seq); the new seen_seq, or null if it did not move. */
  raiseSeen(conversationId: Id, userId: Id, seq: number): Promise<number | null>;
  /** Moves seen_seq back to `seq`; the new seen_seq, or null if it was not above it. */
  lowerSeen(conversationId: Id, userId: Id, seq: number): Promise<number | null>;
}

/** A user's view of a thread (the replies to one root message). */
export interface ThreadState {
  rootId: Id;
  conversationId: Id;
  /** Replies above it are unread (the root's seq when the user never read the thread). */
  readSeq: number;
  following: boolean;
  /** Replies above readSeq that are not deleted. */
  unreadCount: number;
  replyCount: number;
  lastReplySeq: number | null;
  lastReplyAt: Millis | null;
}

/**
 * Threads per user: read positions and following. The append makes a replier follow the
 * thread (read up to their reply) and the root's author follow it from its first reply, in
 * its transaction; read positions only move forward.
 */
export interface ThreadStore {
  /** The user's state of each of these threads (roots that do not exist are left out). */
  threadStates(userId: Id, rootIds: readonly Id[]): Promise<Map<Id, ThreadState>>;
  /** The threads the user follows in live conversations they are in, latest reply first, at most `limit`. */
  followedThreads(userId: Id, limit: number): Promise<ThreadState[]>;
  /** Moves the user's read position in the thread up to `seq`; returns it. */
  markThreadRead(userId: Id, rootId: Id, conversationId: Id, seq: number, at: Millis): Promise<number>;
  /** Follows or unfollows; a first row starts read up to `readSeqIfNew`. */
  setThreadFollowing(userId: Id, rootId: Id, conversationId: Id, following: boolean, readSeqIfNew: number, at: Millis): Promise<void>;
  /** The replies to `rootId` with seq above `afterSeq`, oldest first, at most `limit`. */
  threadReplies(rootId: Id, afterSeq: number, limit: number): Promise<Message[]>;
}

/** Messages: the append (group commit), reads by id, seq and change, and changes. */
export interface MessageStore {
  appendMessages(batch: readonly NewMessage[], opts?: AppendOptions): Promise<AppendOutcome[]>;
  /** What the search index will hold for `message` (its `searchRow`); '' without a word to find or without the index (SEARCH_INDEX=off). */
  searchRowOf(message: Pick<NewMessage, 'conversationId' | 'content' | 'attachments'>): string;
  messageById(id: Id): Promise<Message | undefined>;
  messageByUuid(uuid: string): Promise<Message | undefined>;
  /** The messages whose seq is in [fromSeq, toSeq], newest first. */
  messagesBySeq(conversationId: Id, fromSeq: number, toSeq: number): Promise<Message[]>;
  /** The last message of each conversation (seq = last_seq), keyed by conversation id. */
  lastMessages(conversations: readonly Conversation[]): Promise<Map<Id, Message>>;
  /**
   * The messages with seq ≤ `maxSeq` changed (edited, deleted, reacted to) after their append
   * with change_seq > after, oldest change first, at most `limit`. A message not changed since
   * its append is not among them: a reader with seq ≤ maxSeq has it as it is, and a newer one
   * is read by seq (`messagesBySeq`), so an append writes nothing the change reads use.
   */
  changesSince(conversationId: Id, afterChangeSeq: number, limit: number, maxSeq: number): Promise<Message[]>;
  /** `metadataJson` undefined: the message keeps its metadata. */
  editMessage(messageId: Id, content: string, at: Millis, metadataJson?: string | null): Promise<Message>;
  deleteMessage(messageId: Id, at: Millis): Promise<{ message: Message; changed: boolean }>;
  /** Adds or removes one (message, user, emoji); returns the message and whether anything changed. */
  setReaction(messageId: Id, userId: Id, emoji: string, on: boolean, at: Millis): Promise<{ message: Message; changed: boolean }>;
  addMentions(messageId: Id, userIds: readonly Id[]): Promise<void>;
}

/** Attachments' rows: pending uploads, look-ups by file key, and what the file sweep removes. */
export interface AttachmentStore {
  /**
   * Pending attachments (uploaded before their message) of `ownerId`, in one transaction;
   * positions follow the list. With `quota`, refused as a whole when the owner's pending
   * files or bytes would go over it (see the contract above).
   */
  createPendingAttachments(tenantId: Id, ownerId: Id, attachments: readonly NewAttachment[], at: Millis, quota?: PendingQuota): Promise<Attachment[]>;
  /** The owner's pending attachments: how many, how many bytes. */
  pendingUsage(ownerId: Id): Promise<PendingUsage>;
  /** The attachment whose stored path or thumbnail path is `key`, with its owner and conversation. */
  attachmentByPath(key: string): Promise<AttachmentRecord | undefined>;
  /** The subset of `keys` that some attachment references, as stored path or thumbnail path. */
  referencedPaths(keys: readonly string[]): Promise<Set<string>>;
  /** Deletes the pending attachments created before `before`; returns the keys of their files (thumbnails included). */
  deletePendingAttachments(before: Millis): Promise<string[]>;
  /** Deleted conversations whose files were not yet purged, with the keys of those files (thumbnails included). */
  deletedConversationFiles(): Promise<{ conversationId: Id; deletedAt: Millis; keys: string[] }[]>;
  /** Records that the files of these deleted conversations are gone: `deletedConversationFiles` lists them no more. */
  markConversationFilesPurged(conversationIds: readonly Id[], at: Millis): Promise<void>;
}


/** An edited message's earlier text: its sender wrote it at `writtenAt`; an edit replaced it at `replacedAt`. */
export interface Revision {
  messageId: Id;
  editorId: Id;
  content: string;
  writtenAt: Millis;
  replacedAt: Millis;
}

/** A pinned message of a conversation: who pinned it, when. */
export interface Pin {
  message: Message;
  pinnedBy: Id;
  pinnedAt: Millis;
}

/** A message a user saved; `id` orders saves made in the same millisecond. */
export interface SavedMessage {
  id: Id;
  message: Message;
  savedAt: Millis;
}

/** A position in a user's saved list: the last item of the previous page. */
export interface SavedCursor {
  at: Millis;
  id: Id;
}

/** Edit history, delete for me, pins and saved messages (issue 18). */
export interface CurationStore {
  /** A message's earlier texts, oldest first (none once it is deleted). */
  revisions(messageId: Id): Promise<Revision[]>;
  /** Hides a message for one user only; false when they had hidden it already. */
  hideMessage(userId: Id, message: Pick<Message, 'id' | 'conversationId' | 'seq'>, at: Millis): Promise<boolean>;
  /** Who hid this message (live frames about it are not theirs on the own API). */
  hidersOf(messageId: Id): Promise<Id[]>;
  /** The subset of `messageIds` the user hid. */
  hiddenMessageIds(userId: Id, messageIds: readonly Id[]): Promise<Set<Id>>;
  /** The newest message of the conversation with seq ≤ `maxSeq` the user did not hide (a room list's preview). */
  newestUnhidden(userId: Id, conversationId: Id, maxSeq: number): Promise<Message | undefined>;
  /** Pins a message of its conversation; false when it was pinned already (the first pin stays). */
  pinMessage(message: Pick<Message, 'id' | 'conversationId'>, userId: Id, at: Millis): Promise<boolean>;
  /** False when it was not pinned. */
  unpinMessage(message: Pick<Message, 'id' | 'conversationId'>): Promise<boolean>;
  /** The conversation's pinned messages that are not deleted, newest pin first. */
  pins(conversationId: Id): Promise<Pin[]>;
  /** Saves a message for a user; false when it was saved already (the first save's time stays). */
  saveMessage(userId: Id, message: Pick<Message, 'id' | 'conversationId'>, at: Millis): Promise<boolean>;
  unsaveMessage(userId: Id, messageId: Id): Promise<boolean>;
  /**
   * The user's saved messages, newest save first, at most `limit`, after `before`: only those
   * they may see now (not deleted, nor hidden by them, in a live conversation they are a
   * current participant of) — one they lost access to is left out, not its save removed.
   */
  savedMessages(userId: Id, limit: number, before?: SavedCursor): Promise<SavedMessage[]>;
}

/** What a search asks for (SearchStore.searchMessages). */
export interface SearchQuery {
  /** The searcher: only conversations they are a current participant of, checked in the query. */
  userId: Id;
  /** The words to find (free text: the store segments and folds it as it indexes). */
  text: string;
  conversationId?: Id;
  senderId?: Id;
  /** Only messages with an attachment of this kind. */
  has?: 'file' | 'image' | 'voice';
  /** created_at bounds, exclusive. */
  before?: Millis;
  after?: Millis;
  /** Only this message and its replies. */
  threadId?: Id;
  order: 'newest' | 'relevance';
  /** The `next` of the previous page. */
  cursor?: string;
  limit: number;
}

/** One message found, with the words that matched. */
export interface SearchHit {
  message: Message;
  /** Where the query's words are: in the content, else in the first file name that has them. */
  highlight: { field: 'content' | 'file'; text: string; ranges: [number, number][] } | null;
}

/** all: every message; mentions: mentions and direct messages (the default); none: nothing. */
export type NotificationLevel = 'all' | 'mentions' | 'none';

/** A user's setting, for every conversation (conversationId 0) or one; level null: as the wider one. */
export interface NotificationSetting {
  level: NotificationLevel | null;
  muteUntil: Millis;
}

export interface PushSubscription {
  id: Id;
  userId: Id;
  kind: 'web' | 'fcm' | 'apns';
  deviceId: string;
  /** A Web Push endpoint, or an FCM/APNs token. */
  endpoint: string;
  p256dh: string | null;
  auth: string | null;
}

/** An outbox row a dispatcher claimed, with what decides whether it is still due. */
export interface ClaimedNotification {
  id: Id;
  userId: Id;
  conversationId: Id;
  messageId: Id;
  seq: number;
  attempts: number;
  /** The recipient's watermarks now (null: no longer a participant). */
  deliveredSeq: number | null;
  readSeq: number | null;
  /** The setting in force now: the conversation's, else the user's, else `mentions`; muted until. */
  level: NotificationLevel;
  muteUntil: Millis;
  /** The recipient's tenant's content mode now (null: the process default). */
  tenantContent: NotifyContent | null;
}

/**
 * Push notifications (issue 19). Rules:
 * - The outbox rows of a message are written by `appendMessages` in its transaction (one
 *   or two statements per batch) for each other participant who has a push subscription then and
 *   whose setting at the message's time asks for it (`all`; `mentions` for a direct message
 *   or a mention) and who is not muted. A device subscribed later gets the later messages.
 * - `claimNotifications` takes due rows no live claim holds, and holds them until `leaseUntil`:
 *   two dispatchers (two processes) never hold one row at once; a crashed one's rows come back
 *   when its lease ends. A row leaves the outbox only by `finishNotifications` (sent, or
 *   cancelled) — or goes back with `retryNotification`.
 */
export interface NotificationStore {
  notificationSetting(userId: Id, conversationId: Id): Promise<NotificationSetting>;
  setNotificationSetting(userId: Id, conversationId: Id, setting: NotificationSetting): Promise<void>;
  /** Adds (or takes over, for another user or device: one endpoint is one device) a subscription. */
  addPushSubscription(sub: Omit<PushSubscription, 'id'>, at: Millis): Promise<PushSubscription>;
  /** Removes one of the user's subscriptions (userId null: whoever's it is, for a push service's "gone"); whether it existed. */
  removePushSubscription(userId: Id | null, id: Id): Promise<boolean>;
  pushSubscriptions(userIds: readonly Id[]): Promise<PushSubscription[]>;
  claimNotifications(now: Millis, leaseUntil: Millis, limit: number): Promise<ClaimedNotification[]>;
  finishNotifications(ids: readonly Id[]): Promise<void>;
  retryNotification(id: Id, dueAt: Millis): Promise<void>;
  /** The user's unread messages over every conversation (the app badge): above seen_seq, not deleted. */
  unreadTotal(userId: Id): Promise<number>;
  /** Outbox rows not yet finished (tests, the scenario script). */
  pendingNotifications(): Promise<number>;
}

/** Full-text search over messages' content and file names (docs/search.md). */
export interface SearchStore {
  /**
   * Messages whose words (and files' names) begin with every word of `text`, folded (case,
   * accents) and segmented (Chinese, Japanese, Thai) the way they were indexed. Only live
   * messages (not deleted) of live conversations the user is a current participant of now:
   * the membership is joined in the query, never read from a cache. Newest first (id
   * descending) or by relevance; `next` is the cursor of the following page (null: the last).
   * The index is written in the transaction of each append, edit and delete.
   */
  searchMessages(query: SearchQuery): Promise<{ hits: SearchHit[]; next: string | null }>;
}

/** A new webhook endpoint (its secret generated by the core). */
export type NewWebhookEndpoint = Pick<WebhookEndpoint, 'tenantId' | 'url' | 'secret' | 'eventTypes' | 'conversationId' | 'mentionUserId' | 'description' | 'createdBy'>;

export interface WebhookEndpointChanges {
  url?: string;
  eventTypes?: LoggedEventType[];
  conversationId?: Id | null;
  mentionUserId?: Id | null;
  description?: string | null;
  /** false: disabled by an admin; true: enabled again (resuming where it stopped). */
  enabled?: boolean;
}

/** A delivery the dispatcher holds under lease: the event and where it goes. */
export interface ClaimedDelivery {
  id: Id;
  attempts: number;
  endpoint: { id: Id; url: string; secret: string };
  event: LoggedEvent;
}

/** The events log (written by the changes themselves, sql/outbox.ts), the endpoints and their deliveries (issue 19). */
export interface WebhookStore {
  /**
   * A tenant's events after `afterSeq`, in seq order, at most `limit`. Only below every seq
   * that may still commit: an event that commits after this read never has a seq below the
   * last one returned (a cursor never passes an event), and a conversation's events come in
   * the order they committed. The same event always has the same seq and uuid.
   */
  eventsAfter(tenantId: Id, afterSeq: number, limit: number): Promise<LoggedEvent[]>;
  createWebhookEndpoint(endpoint: NewWebhookEndpoint, at: Millis): Promise<WebhookEndpoint>;
  webhookEndpoints(tenantId: Id): Promise<WebhookEndpoint[]>;
  webhookEndpoint(tenantId: Id, uuid: string): Promise<WebhookEndpoint | undefined>;
  updateWebhookEndpoint(tenantId: Id, uuid: string, changes: WebhookEndpointChanges, at: Millis): Promise<WebhookEndpoint | undefined>;
  deleteWebhookEndpoint(tenantId: Id, uuid: string, at: Millis): Promise<boolean>;
  /**
   * Turns each enabled endpoint's new events (those its filters take) into deliveries, at most
   * `limit` events an endpoint; an endpoint another process is fanning out is passed over.
   * Returns how many deliveries were made.
   */
  fanOutWebhooks(limit: number, at: Millis): Promise<number>;
  /**
   * Leases at most `limit` due deliveries until `leaseUntil`, each the oldest undelivered of
   * its (endpoint, conversation): a conversation's next event waits for the one before it.
   */
  claimWebhookDeliveries(limit: number, at: Millis, leaseUntil: Millis): Promise<ClaimedDelivery[]>;
  /** A 2xx: delivered; the endpoint's failing streak ends. */
  webhookDelivered(deliveryId: Id, at: Millis): Promise<void>;
  /**
   * A failure: tried again at `retryAt`; the endpoint is disabled ('failing') when it has been
   * failing since `disableIfFailingSince` or earlier.
   */
  webhookFailed(deliveryId: Id, error: string, at: Millis, retryAt: Millis, disableIfFailingSince: Millis): Promise<void>;
  /**
   * Deletes at most `limit` delivered deliveries and at most `limit` events older than
   * `before`. An event goes only when no delivery of it is waiting and every live endpoint of
   * its tenant has fanned it out (a disabled endpoint resumes from where it stopped). Returns
   * how many rows went.
   */
  pruneWebhookEvents(before: Millis, limit: number): Promise<number>;
}

/** Which audit entries a page holds (all filters together); `order` 'desc' pages by `beforeSeq`, 'asc' by `afterSeq`. */
export interface AuditQuery {
  afterSeq?: number;
  beforeSeq?: number;
  actorId?: Id;
  action?: string;
  targetType?: string;
  targetId?: string;
  /** `at` at or after this. */
  from?: Millis;
  /** `at` before this. */
  to?: Millis;
  order: 'asc' | 'desc';
  limit: number;
}

/** The audit log (issue 20): per tenant, appended in one chain, read back in seq order. */
export interface AuditStore {
  /**
   * Appends an entry to its tenant's log as the next seq (1 for the first): the tenant's head
   * is locked for the transaction, so concurrent appends from any process are serialized and
   * the seqs stay gapless. `seal` is called inside it with the seq and the hash of the entry
   * before (64 zeros for the first) and returns the entry's hash, stored with it.
   */
  appendAudit(fields: AuditFields, seal: (link: { seq: number; prevHash: string }) => string): Promise<AuditEntry>;
  /** A page of the tenant's entries that match every filter of `query`, in seq order `query.order`. */
  auditEntries(tenantId: Id, query: AuditQuery): Promise<AuditEntry[]>;
  /** The seq and hash of the last entry appended (as the head recorded it); undefined before the first. */
  auditHead(tenantId: Id): Promise<{ lastSeq: number; lastHash: string } | undefined>;
  /** The seq of the tenant's entry with this hash, if any. */
  auditSeqOfHash(tenantId: Id, hash: string): Promise<number | undefined>;
  /** The tenants that have an audit log, by id. */
  auditTenants(): Promise<Id[]>;
}

/** A ban (out of the conversation, cannot come back) or a mute (stays and reads, cannot post or react). */
export type SanctionKind = 'ban' | 'mute';

/** A user's ban or mute in a conversation: in force while `until` is null (permanent) or later than now. */
export interface Sanction {
  conversationId: Id;
  userId: Id;
  kind: SanctionKind;
  reason: string | null;
  until: Millis | null;
  createdBy: Id | null;
  createdAt: Millis;
}

/** Where a report stands: open, or how a moderator resolved it (exactly one of these). */
export type ReportState = 'open' | 'dismissed' | 'deleted' | 'muted' | 'banned' | 'suspended';

export interface MessageReport {
  id: Id;
  tenantId: Id;
  conversationId: Id;
  messageId: Id;
  reporterId: Id;
  authorId: Id;
  reason: string;
  state: ReportState;
  createdAt: Millis;
  resolvedBy: Id | null;
  resolvedAt: Millis | null;
}

export type NewReport = Omit<MessageReport, 'id' | 'state' | 'resolvedBy' | 'resolvedAt'>;

/** Which open reports a moderator's queue lists: a tenant's all, or those of the conversations a user moderates. */
export interface ReportQueueScope {
  tenantId: Id;
  /** Only this conversation's. */
  conversationId?: Id;
  /** Only conversations this user is a current admin or moderator of (left out: the tenant's every one). */
  moderatorId?: Id;
}

/** Bans, mutes, reports and moderators' deletion reasons (issue 20). */
export interface ModerationStore {
  /** Sets the user's ban or mute in the conversation, replacing one of that kind (in force or lapsed). */
  putSanction(sanction: Sanction): Promise<void>;
  /** Removes the user's ban or mute; false when none was in force at `now`. */
  liftSanction(conversationId: Id, userId: Id, kind: SanctionKind, now: Millis): Promise<boolean>;
  /**
   * The user's sanctions in force at `now` (`until` null or later than `now`: at `until` it is lifted).
   * Cacheable (the send path asks it): only `putSanction` and `liftSanction` change it.
   */
  sanctionsOf(conversationId: Id, userId: Id, now: Millis): Promise<Sanction[]>;
  /** The conversation's sanctions in force at `now`, newest first. */
  sanctions(conversationId: Id, now: Millis): Promise<Sanction[]>;
  /** Files an open report; undefined when this reporter reported this message already (nothing changes). */
  createReport(report: NewReport): Promise<MessageReport | undefined>;
  report(id: Id): Promise<MessageReport | undefined>;
  /** Moves an open report to `state`; false when it is not open (resolved once, by one moderator). */
  resolveReport(id: Id, state: Exclude<ReportState, 'open'>, by: Id, at: Millis): Promise<boolean>;
  /** Puts back to open a report resolved as given (its action was then refused); false when it is not resolved so. */
  reopenReport(id: Id, state: Exclude<ReportState, 'open'>, by: Id, at: Millis): Promise<boolean>;
  /** Open reports in the scope, oldest first, with id above `afterId`, at most `limit`. */
  openReports(scope: ReportQueueScope, afterId: Id, limit: number): Promise<MessageReport[]>;
  /** The reporter's own reports in any state, newest first, with id below `beforeId` (none: from the newest), at most `limit`. */
  reportsBy(reporterId: Id, beforeId: Id | undefined, limit: number): Promise<MessageReport[]>;
  /** Records why a moderator deleted someone else's message; a second record for the message changes nothing. */
  recordDeletion(messageId: Id, deletedBy: Id, reason: string): Promise<void>;
  /** Who deleted which of `messageIds` for what reason (only those a moderator deleted with one). */
  deletionsOf(messageIds: readonly Id[]): Promise<Map<Id, { deletedBy: Id; reason: string }>>;
}
