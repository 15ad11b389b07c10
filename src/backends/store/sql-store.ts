import { randomUUID } from 'node:crypto';
import { Kysely, Migrator, sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type {
  Attachment,
  Conversation,
  FriendStatus,
  Id,
  Invite,
  Member,
  Message,
  MessageKind,
  Millis,
  Participant,
  ReactionSummary,
  Role,
  Tenant,
  User,
  UserSummary,
} from '../../core/model.js';
import { DomainError } from '../../core/errors.js';
import { migrationProvider } from './migrations/index.js';
import { DEFAULT_TENANT_UUID } from './migrations/0001-initial.js';
import type { DB } from './schema.js';
import { raw, type SqlRunner, type Statement } from './sql-runner.js';
import {
  LockNotAvailable,
  NotCommitted,
  UniqueViolation,
  type AppendOptions,
  type AppendOutcome,
  type AppendResult,
  type AttachmentRecord,
  type FriendshipRow,
  type Membership,
  type NewAttachment,
  type NewConversation,
  type NewInvite,
  type NewMessage,
  type NewUser,
  type PendingQuota,
  type PendingUsage,
  type ActivityCursor,
  type Store,
  type StoreReads,
} from './store.js';

type Row = Record<string, any>;

const toTenant = (r: Row): Tenant => ({ id: r.id, uuid: r.uuid, name: r.name, createdAt: r.created_at });

const toUser = (r: Row): User => ({
  id: r.id,
  uuid: r.uuid,
  tenantId: r.tenant_id,
  tenantUuid: r.tenant_uuid,
  email: r.email,
  name: r.name,
  avatarUrl: r.avatar_url ?? null,
  tokenVersion: r.token_version,
  lastSeenAt: r.last_seen_at ?? null,
  createdAt: r.created_at,
  tenantRole: r.tenant_role === 'admin' ? 'admin' : 'member',
});

const toInvite = (r: Row): Invite => ({
  id: r.id,
  uuid: r.uuid,
  tenantId: r.tenant_id,
  tenantUuid: r.tenant_uuid,
  email: r.email ?? null,
  createdBy: r.created_by ?? null,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at ?? null,
  usedBy: r.used_by ?? null,
  revokedAt: r.revoked_at ?? null,
});

/** Thrown inside a transaction to roll it back when an invite cannot be claimed. */
class InviteNotClaimed extends Error {}

const toSummary = (r: Row): UserSummary => ({
  id: r.id,
  uuid: r.uuid,
  name: r.name,
  email: r.email,
  avatarUrl: r.avatar_url ?? null,
});

const toConversation = (r: Row): Conversation => ({
  id: r.id,
  uuid: r.uuid,
  tenantId: r.tenant_id,
  kind: r.kind,
  title: r.title ?? null,
  createdBy: r.created_by ?? null,
  lastSeq: r.last_seq,
  changeSeq: r.change_seq,
  lastMessageAt: r.last_message_at ?? null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  memberCount: Number(r.member_count ?? 0),
});

const toParticipant = (r: Row): Participant => ({
  conversationId: r.conversation_id,
  userId: r.user_id,
  role: r.role as Role,
  joinedAt: r.joined_at,
  readSeq: r.read_seq,
  deliveredSeq: r.delivered_seq,
  sentSeq: r.sent_seq ?? 0,
  readAt: r.read_at ?? null,
});

const toAttachment = (r: Row): Attachment => ({
  id: r.id,
  uuid: r.uuid,
  position: r.position,
  kind: r.kind,
  fileName: r.file_name,
  storedPath: r.stored_path,
  size: r.size,
  mimeType: r.mime_type,
  durationSeconds: r.duration_seconds ?? null,
  width: r.width ?? null,
  height: r.height ?? null,
  thumbnailPath: r.thumbnail_path ?? null,
});

const toMessage = (r: Row, attachments: Attachment[] = [], reactions: ReactionSummary[] = []): Message => ({
  id: r.id,
  uuid: r.uuid,
  conversationId: r.conversation_id,
  seq: r.seq,
  changeSeq: r.change_seq,
  senderId: r.sender_id,
  kind: r.kind as MessageKind,
  content: r.deleted_at == null ? (r.content ?? null) : null,
  replyToId: r.reply_to_id ?? null,
  replyToUuid: r.reply_to_uuid ?? null,
  clientId: r.client_id ?? null,
  createdAt: r.created_at,
  editedAt: r.edited_at ?? null,
  deletedAt: r.deleted_at ?? null,
  attachments,
  reactions,
  replyCount: r.reply_count ?? 0,
});

const pair = (a: Id, b: Id): [Id, Id] => (a < b ? [a, b] : [b, a]);
const placeholders = (n: number) => new Array(n).fill('?').join(', ');

const ATTACHMENT_COLUMNS =
  'id, uuid, position, kind, file_name, stored_path, size, mime_type, duration_seconds, width, height, thumbnail_path';

const MESSAGE_COLUMNS =
  'id, uuid, conversation_id, seq, change_seq, sender_id, kind, content, reply_to_id, reply_count, client_id, created_at, edited_at, deleted_at';

/**
 * The Store on SQL through Kysely, shared by SQLite and PostgreSQL: queries are built once
 * here; `SqlRunner` is the only part that differs. The send path (`appendMessages`) uses
 * fixed statement texts so each driver can reuse its prepared statement.
 */
export class SqlStore implements Store {
  readonly #greatest: string;
  readonly #close: () => Promise<void>;
  readonly appendPipeline: number;
  #defaultTenant: Tenant | undefined;

  constructor(
    readonly dialect: 'sqlite' | 'postgres',
    readonly db: Kysely<DB>,
    readonly runner: SqlRunner,
    close: () => Promise<void>,
    /** PostgreSQL: how long an append waits for a conversation another transaction holds (PG_LOCK_WAIT_MS). */
    readonly lockWaitMs = 200,
  ) {
    this.#close = close;
    // SQLite runs one transaction at a time, in the order they were asked for: a batch can
    // commit while the one before waits for its flush. PostgreSQL transactions on separate
    // connections could take a conversation's row lock out of order, so one at a time.
    this.appendPipeline = dialect === 'sqlite' ? 2 : 1;
    // Two-argument max: SQLite's scalar max(), PostgreSQL's GREATEST().
    this.#greatest = dialect === 'sqlite' ? 'max' : 'greatest';
  }

  async migrate(): Promise<void> {
    // On PostgreSQL Kysely's migrator holds an advisory lock, so processes starting
    // together migrate once.
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
    }
  }

  async epoch(): Promise<string> {
    const r = await this.#first<{ value: string }>(raw("SELECT value FROM server_state WHERE key = 'epoch'", []));
    if (!r) throw new Error('the database has no epoch: run the migrations');
    return r.value;
  }

  async renewEpoch(): Promise<string> {
    const value = randomUUID();
    await this.runner.run(raw("UPDATE server_state SET value = ? WHERE key = 'epoch'", [value]));
    return value;
  }

  close(): Promise<void> {
    return this.#close();
  }

  #all<T = Row>(q: Statement | { compile(): Statement }, r: SqlRunner = this.runner): Promise<T[]> {
    return r.all<T>('compile' in q ? q.compile() : q);
  }

  async #first<T = Row>(q: Statement | { compile(): Statement }, r: SqlRunner = this.runner): Promise<T | undefined> {
    return (await this.#all<T>(q, r))[0];
  }

  // ------------------------------------------------------------------ tenants

  async defaultTenant(): Promise<Tenant> {
    if (!this.#defaultTenant) {
      const t = await this.tenantByUuid(DEFAULT_TENANT_UUID);
      if (!t) throw new Error('the default tenant is missing: run the migrations');
      this.#defaultTenant = t;
    }
    return this.#defaultTenant;
  }

  async tenantById(id: Id): Promise<Tenant | undefined> {
    const r = await this.#first(this.db.selectFrom('tenants').selectAll().where('id', '=', id));
    return r && toTenant(r);
  }

  async tenantByUuid(uuid: string): Promise<Tenant | undefined> {
    const r = await this.#first(this.db.selectFrom('tenants').selectAll().where('uuid', '=', uuid));
    return r && toTenant(r);
  }

  async createTenant(uuid: string, name: string): Promise<Tenant | undefined> {
    const created = await this.runner.run(
      this.db
        .insertInto('tenants')
        .values({ uuid, name, created_at: Date.now() })
        .onConflict((oc) => oc.column('uuid').doNothing())
        .compile(),
    );
    return created === 1 ? this.tenantByUuid(uuid) : undefined;
  }

  async ensureTenant(uuid: string, name: string): Promise<Tenant> {
    await this.runner.run(
      this.db
        .insertInto('tenants')
        .values({ uuid, name, created_at: Date.now() })
        .onConflict((oc) => oc.column('uuid').doNothing())
        .compile(),
    );
    return (await this.tenantByUuid(uuid))!;
  }

  // ------------------------------------------------------------------ users

  #users() {
    return this.db
      .selectFrom('users')
      .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
      .select([
        'users.id',
        'users.uuid',
        'users.tenant_id',
        'tenants.uuid as tenant_uuid',
        'users.email',
        'users.name',
        'users.avatar_url',
        'users.token_version',
        'users.last_seen_at',
        'users.created_at',
        'users.tenant_role',
      ]);
  }

  async createUser(u: NewUser): Promise<User> {
    const uuid = uuidv7();
    await this.runner.transaction((tx) => this.#insertUser(tx, u, uuid));
    return (await this.userByUuid(uuid))!;
  }

  async createUserWithInvite(u: NewUser, codeHash: string, at: Millis): Promise<User | undefined> {
    const uuid = uuidv7();
    try {
      await this.runner.transaction(async (tx) => {
        // One conditional UPDATE claims it: a concurrent claim of the same code waits for this
        // transaction's row lock (PostgreSQL) or its turn (SQLite) and then finds it used.
        const claimed = await tx.run(
          raw(
            `UPDATE invites SET used_at = ? WHERE code_hash = ? AND tenant_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? AND (email IS NULL OR email = ?)`,
            [at, codeHash, u.tenantId, at, u.email],
          ),
        );
        if (claimed !== 1) throw new InviteNotClaimed();
        const id = await this.#insertUser(tx, u, uuid);
        await tx.run(raw('UPDATE invites SET used_by = ? WHERE code_hash = ?', [id, codeHash]));
      });
    } catch (e) {
      if (e instanceof InviteNotClaimed) return undefined;
      throw e;
    }
    return this.userByUuid(uuid);
  }

  async #insertUser(tx: SqlRunner, u: NewUser, uuid: string): Promise<Id> {
    const now = Date.now();
    let role = u.tenantRole;
    if (!role) {
      // Taking the tenant's row first queues concurrent creations in one tenant here, so
      // exactly one of them sees no user yet (SQLite runs one write transaction at a time).
      await tx.run(raw('UPDATE tenants SET name = name WHERE id = ?', [u.tenantId]));
      const existing = await tx.all(raw('SELECT id FROM users WHERE tenant_id = ? LIMIT 1', [u.tenantId]));
      role = existing.length === 0 ? 'admin' : 'member';
    }
    const rows = await tx.all<{ id: Id }>(
      this.db
        .insertInto('users')
        .values({
          uuid,
          tenant_id: u.tenantId,
          email: u.email,
          name: u.name,
          avatar_url: u.avatarUrl ?? null,
          password_hash: u.passwordHash ?? null,
          external_issuer: u.externalIssuer ?? null,
          external_subject: u.externalSubject ?? null,
          token_version: 0,
          last_seen_at: null,
          created_at: now,
          updated_at: now,
          tenant_role: role,
        })
        .returning('id')
        .compile(),
    );
    return rows[0].id;
  }

  async userById(id: Id): Promise<User | undefined> {
    if (!Number.isSafeInteger(id)) return undefined; // see messageById
    const r = await this.#first(this.#users().where('users.id', '=', id));
    return r && toUser(r);
  }

  async userByUuid(uuid: string): Promise<User | undefined> {
    const r = await this.#first(this.#users().where('users.uuid', '=', uuid));
    return r && toUser(r);
  }

  async userByEmail(tenantId: Id, email: string): Promise<User | undefined> {
    const r = await this.#first(
      this.#users().where('users.tenant_id', '=', tenantId).where('users.email', '=', email).where('users.external_subject', 'is', null),
    );
    return r && toUser(r);
  }

  async userByExternalSubject(tenantId: Id, issuer: string, subject: string): Promise<User | undefined> {
    const r = await this.#first(
      this.#users()
        .where('users.tenant_id', '=', tenantId)
        .where('users.external_issuer', '=', issuer)
        .where('users.external_subject', '=', subject),
    );
    return r && toUser(r);
  }

  async passwordHash(userId: Id): Promise<string | null> {
    const r = await this.#first<{ password_hash: string | null }>(
      this.db.selectFrom('users').select('password_hash').where('id', '=', userId),
    );
    return r?.password_hash ?? null;
  }

  async userSummaries(ids: readonly Id[]): Promise<Map<Id, UserSummary>> {
    const out = new Map<Id, UserSummary>();
    if (ids.length === 0) return out;
    const rows = await this.#all(
      this.db.selectFrom('users').select(['id', 'uuid', 'name', 'email', 'avatar_url']).where('id', 'in', [...new Set(ids)]),
    );
    for (const r of rows) out.set(r.id, toSummary(r));
    return out;
  }

  async searchUsers(tenantId: Id, query: string, limit: number, excludeUserId: Id): Promise<UserSummary[]> {
    // Emails are stored lower-cased; LIKE's wildcards in the query are taken literally.
    const pattern = '%' + query.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    const rows = await this.#all(
      this.db
        .selectFrom('users')
        .select(['id', 'uuid', 'name', 'email', 'avatar_url'])
        .where('tenant_id', '=', tenantId)
        .where('id', '!=', excludeUserId)
        .where(sql<boolean>`email like ${pattern} escape '\\'`)
        .orderBy('email')
        .limit(limit),
    );
    return rows.map(toSummary);
  }

  async bumpTokenVersion(userId: Id): Promise<number> {
    const r = await this.#first<{ token_version: number }>(
      raw('UPDATE users SET token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version', [
        Date.now(),
        userId,
      ]),
    );
    return r?.token_version ?? 0;
  }

  async setPasswordHash(userId: Id, passwordHash: string): Promise<number | undefined> {
    const r = await this.#first<{ token_version: number }>(
      raw('UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version', [
        passwordHash,
        Date.now(),
        userId,
      ]),
    );
    return r?.token_version;
  }

  // ------------------------------------------------------------------ invites

  #invites() {
    return this.db
      .selectFrom('invites')
      .innerJoin('tenants', 'tenants.id', 'invites.tenant_id')
      .select([
        'invites.id',
        'invites.uuid',
        'invites.tenant_id',
        'tenants.uuid as tenant_uuid',
        'invites.email',
        'invites.created_by',
        'invites.created_at',
        'invites.expires_at',
        'invites.used_at',
        'invites.used_by',
        'invites.revoked_at',
      ]);
  }

  async createInvite(i: NewInvite): Promise<Invite> {
    const uuid = uuidv7();
    await this.runner.run(
      this.db
        .insertInto('invites')
        .values({
          uuid,
          tenant_id: i.tenantId,
          code_hash: i.codeHash,
          email: i.email,
          created_by: i.createdBy,
          created_at: i.createdAt,
          expires_at: i.expiresAt,
          used_at: null,
          used_by: null,
          revoked_at: null,
        })
        .compile(),
    );
    return toInvite((await this.#first(this.#invites().where('invites.uuid', '=', uuid)))!);
  }

  async inviteByCodeHash(codeHash: string): Promise<Invite | undefined> {
    const r = await this.#first(this.#invites().where('invites.code_hash', '=', codeHash));
    return r && toInvite(r);
  }

  async invites(tenantId: Id, limit: number): Promise<Invite[]> {
    const rows = await this.#all(this.#invites().where('invites.tenant_id', '=', tenantId).orderBy('invites.id', 'desc').limit(limit));
    return rows.map(toInvite);
  }

  async revokeInvite(tenantId: Id, uuid: string, at: Millis): Promise<Invite | undefined> {
    await this.runner.run(
      raw('UPDATE invites SET revoked_at = ? WHERE tenant_id = ? AND uuid = ? AND used_at IS NULL AND revoked_at IS NULL', [at, tenantId, uuid]),
    );
    const r = await this.#first(this.#invites().where('invites.tenant_id', '=', tenantId).where('invites.uuid', '=', uuid));
    return r && toInvite(r);
  }

  async setLastSeen(userId: Id, at: Millis): Promise<void> {
    await this.runner.run(this.db.updateTable('users').set({ last_seen_at: at }).where('id', '=', userId).compile());
  }

  // ------------------------------------------------------------------ friends

  async friendship(a: Id, b: Id): Promise<FriendshipRow | undefined> {
    const [x, y] = pair(a, b);
    const r = await this.#first(this.db.selectFrom('friendships').selectAll().where('user_a', '=', x).where('user_b', '=', y));
    return r && toFriendship(r);
  }

  async putFriendship(a: Id, b: Id, status: FriendStatus, requestedBy: Id, at: Millis): Promise<void> {
    const [x, y] = pair(a, b);
    await this.runner.run(
      this.db
        .insertInto('friendships')
        .values({ user_a: x, user_b: y, status, requested_by: requestedBy, created_at: at, updated_at: at })
        .onConflict((oc) =>
          oc.columns(['user_a', 'user_b']).doUpdateSet({ status, requested_by: requestedBy, updated_at: at }),
        )
        .compile(),
    );
  }

  async requestFriendship(from: Id, to: Id, at: Millis): Promise<FriendStatus> {
    const [x, y] = pair(from, to);
    // One statement, so a concurrent request of the other side is seen (PostgreSQL waits for
    // the conflicting row; SQLite runs statements one at a time).
    const accept = `friendships.status = 'pending' AND friendships.requested_by <> excluded.requested_by`;
    const r = await this.#first<{ status: FriendStatus }>(
      raw(
        `INSERT INTO friendships (user_a, user_b, status, requested_by, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (user_a, user_b) DO UPDATE SET
           status = CASE WHEN ${accept} THEN 'accepted' ELSE friendships.status END,
           updated_at = CASE WHEN ${accept} THEN excluded.updated_at ELSE friendships.updated_at END
         RETURNING status`,
        [x, y, from, at, at],
      ),
    );
    return r!.status;
  }

  async deleteFriendship(a: Id, b: Id): Promise<boolean> {
    const [x, y] = pair(a, b);
    return (
      (await this.runner.run(this.db.deleteFrom('friendships').where('user_a', '=', x).where('user_b', '=', y).compile())) > 0
    );
  }

  async block(blocker: Id, blocked: Id, at: Millis): Promise<boolean> {
    const [x, y] = pair(blocker, blocked);
    return this.runner.transaction(async (tx) => {
      const added = await tx.run(
        this.db
          .insertInto('blocks')
          .values({ blocker_id: blocker, blocked_id: blocked, created_at: at })
          .onConflict((oc) => oc.columns(['blocker_id', 'blocked_id']).doNothing())
          .compile(),
      );
      await tx.run(this.db.deleteFrom('friendships').where('user_a', '=', x).where('user_b', '=', y).compile());
      return added > 0;
    });
  }

  async unblock(blocker: Id, blocked: Id): Promise<boolean> {
    return (await this.runner.run(this.db.deleteFrom('blocks').where('blocker_id', '=', blocker).where('blocked_id', '=', blocked).compile())) > 0;
  }

  async blocksBy(blocker: Id): Promise<{ userId: Id; at: Millis }[]> {
    const rows = await this.#all(
      this.db.selectFrom('blocks').select(['blocked_id', 'created_at']).where('blocker_id', '=', blocker).orderBy('created_at', 'desc').orderBy('blocked_id', 'desc'),
    );
    return rows.map((r) => ({ userId: Number(r.blocked_id), at: Number(r.created_at) }));
  }

  async blocksBetween(a: Id, b: Id): Promise<{ blocker: Id; blocked: Id }[]> {
    const rows = await this.#all<{ blocker_id: number; blocked_id: number }>(
      raw('SELECT blocker_id, blocked_id FROM blocks WHERE (blocker_id = ? AND blocked_id = ?) OR (blocker_id = ? AND blocked_id = ?)', [a, b, b, a]),
    );
    return rows.map((r) => ({ blocker: Number(r.blocker_id), blocked: Number(r.blocked_id) }));
  }

  async blockedEitherWay(userId: Id): Promise<Id[]> {
    const rows = await this.#all<{ id: number }>(
      raw('SELECT blocked_id AS id FROM blocks WHERE blocker_id = ? UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?', [userId, userId]),
    );
    return rows.map((r) => Number(r.id));
  }

  async friendships(userId: Id): Promise<FriendshipRow[]> {
    const rows = await this.#all(
      this.db
        .selectFrom('friendships')
        .selectAll()
        .where((eb) => eb.or([eb('user_a', '=', userId), eb('user_b', '=', userId)]))
        .orderBy('updated_at', 'desc'),
    );
    return rows.map(toFriendship);
  }

  // ------------------------------------------------------------------ conversations

  async createConversation(c: NewConversation, at: Millis): Promise<Conversation> {
    let directKey: string | null = null;
    if (c.kind === 'direct') {
      const [x, y] = pair(c.participants[0].userId, c.participants[1].userId);
      directKey = `${x}:${y}`;
      const existing = await this.directConversation(c.tenantId, x, y);
      if (existing) return existing;
    }
    const uuid = uuidv7();
    try {
      await this.runner.transaction(async (tx) => {
        const row = await this.#first<{ id: number }>(
          this.db
            .insertInto('conversations')
            .values({
              uuid,
              tenant_id: c.tenantId,
              kind: c.kind,
              title: c.title,
              created_by: c.createdBy,
              direct_key: directKey,
              last_seq: 0,
              change_seq: 0,
              last_message_at: null,
              created_at: at,
              updated_at: at,
              deleted_at: null,
              member_count: new Set(c.participants.map((p) => p.userId)).size,
            })
            .returning('id'),
          tx,
        );
        await tx.run(
          this.db
            .insertInto('participants')
            .values(
              c.participants.map((p) => ({
                conversation_id: row!.id,
                user_id: p.userId,
                role: p.role,
                joined_at: at,
                left_at: null,
                muted: 0,
                read_seq: 0,
                delivered_seq: 0,
                read_at: null,
              })),
            )
            .compile(),
        );
      });
    } catch (e) {
      // Two first contacts at once: the other one won; theirs is the conversation.
      if (directKey && (e as Error).name === 'UniqueViolation') {
        const [x, y] = directKey.split(':').map(Number);
        const existing = await this.directConversation(c.tenantId, x, y);
        if (existing) return existing;
      }
      throw e;
    }
    return (await this.conversationByUuid(uuid))!;
  }

  async directConversation(tenantId: Id, a: Id, b: Id): Promise<Conversation | undefined> {
    const [x, y] = pair(a, b);
    const r = await this.#first(
      this.db
        .selectFrom('conversations')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('direct_key', '=', `${x}:${y}`)
        .where('deleted_at', 'is', null),
    );
    return r && toConversation(r);
  }

  async conversationById(id: Id): Promise<Conversation | undefined> {
    if (!Number.isSafeInteger(id)) return undefined; // see messageById
    const r = await this.#first(this.db.selectFrom('conversations').selectAll().where('id', '=', id).where('deleted_at', 'is', null));
    return r && toConversation(r);
  }

  async conversationByUuid(uuid: string): Promise<Conversation | undefined> {
    const r = await this.#first(
      this.db.selectFrom('conversations').selectAll().where('uuid', '=', uuid).where('deleted_at', 'is', null),
    );
    return r && toConversation(r);
  }

  async participant(conversationId: Id, userId: Id): Promise<Participant | undefined> {
    const r = await this.#first(
      raw(
        'SELECT conversation_id, user_id, role, joined_at, read_seq, delivered_seq, sent_seq, read_at FROM participants WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL',
        [conversationId, userId],
      ),
    );
    return r && toParticipant(r);
  }

  async members(conversationIds: readonly Id[]): Promise<Member[]> {
    if (conversationIds.length === 0) return [];
    const rows = await this.#all(
      this.db
        .selectFrom('participants as p')
        .innerJoin('users as u', 'u.id', 'p.user_id')
        .select([
          'p.conversation_id',
          'p.user_id',
          'p.role',
          'p.joined_at',
          'p.read_seq',
          'p.delivered_seq',
          'p.sent_seq',
          'p.read_at',
          'u.id',
          'u.uuid',
          'u.name',
          'u.email',
          'u.avatar_url',
        ])
        .where('p.conversation_id', 'in', [...conversationIds])
        .where('p.left_at', 'is', null)
        .orderBy('p.conversation_id')
        .orderBy('p.joined_at')
        .orderBy('p.user_id'),
    );
    return rows.map((r) => ({ user: toSummary(r), participant: toParticipant(r) }));
  }

  async memberships(userId: Id, page?: { limit: number; before?: ActivityCursor }): Promise<Membership[]> {
    const activity = sql<number>`coalesce(c.last_message_at, c.created_at)`;
    let q = this.db
      .selectFrom('participants as p')
      .innerJoin('conversations as c', 'c.id', 'p.conversation_id')
      .selectAll('c')
      .select([
        'p.conversation_id',
        'p.user_id',
        'p.role',
        'p.joined_at',
        'p.read_seq',
        'p.delivered_seq',
        'p.sent_seq',
        'p.read_at',
      ])
      .where('p.user_id', '=', userId)
      .where('p.left_at', 'is', null)
      .where('c.deleted_at', 'is', null);
    const before = page?.before;
    if (before) q = q.where((eb) => eb.or([eb(activity, '<', before.at), eb.and([eb(activity, '=', before.at), eb('c.id', '<', before.id)])]));
    q = q.orderBy(activity, 'desc').orderBy('c.id', 'desc');
    if (page) q = q.limit(page.limit);
    const rows = await this.#all(q);
    return rows.map((r) => ({ conversation: toConversation(r), me: toParticipant(r) }));
  }

  async memberPreview(conversationIds: readonly Id[], perConversation: number): Promise<Member[]> {
    const ids = [...new Set(conversationIds)];
    if (ids.length === 0 || perConversation <= 0) return [];
    const cols = 'p.conversation_id, p.user_id, p.role, p.joined_at, p.read_seq, p.delivered_seq, p.read_at, u.id, u.uuid, u.name, u.email, u.avatar_url';
    const out: Member[] = [];
    // One bounded probe of the participants key per conversation: LIMIT inside each, so a
    // group of a thousand costs as much as a pair.
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const rows = await this.runner.all<Row>(
        this.dialect === 'postgres'
          ? raw(
              `SELECT ${cols} FROM (VALUES ${this.#valueRows(chunk.length, ['BIGINT'])}) AS v CROSS JOIN LATERAL
                 (SELECT * FROM participants WHERE conversation_id = v.column1 AND left_at IS NULL ORDER BY user_id LIMIT ${perConversation | 0}) AS p
               JOIN users u ON u.id = p.user_id`,
              chunk,
            )
          : raw(
              chunk
                .map(() => `SELECT * FROM (SELECT ${cols} FROM participants p JOIN users u ON u.id = p.user_id WHERE p.conversation_id = ? AND p.left_at IS NULL ORDER BY p.user_id LIMIT ${perConversation | 0})`)
                .join(' UNION ALL '),
              chunk,
            ),
      );
      for (const r of rows) out.push({ user: toSummary(r), participant: toParticipant(r) });
    }
    return out;
  }

  async partnerIds(userId: Id): Promise<Id[]> {
    const rows = await this.#all<{ user_id: number }>(
      raw(
        `SELECT DISTINCT o.user_id FROM participants p
         JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
         JOIN participants o ON o.conversation_id = p.conversation_id AND o.user_id <> p.user_id AND o.left_at IS NULL
         WHERE p.user_id = ? AND p.left_at IS NULL`,
        [userId],
      ),
    );
    return rows.map((r) => Number(r.user_id));
  }

  async presencePeers(userId: Id, among?: readonly Id[]): Promise<{ shared: Id[]; direct: Id[]; friends: Id[] }> {
    const out = { shared: [] as Id[], direct: [] as Id[], friends: [] as Id[] };
    const list = among ? [...new Set(among)].filter(Number.isSafeInteger) : undefined;
    if (list && list.length === 0) return out;
    const inList = (col: string) => (list ? ` AND ${col} IN (${placeholders(list.length)})` : '');
    const rows = await this.#all<{ id: number; via: string }>(
      raw(
        `SELECT DISTINCT o.user_id AS id, CASE WHEN c.kind = 'direct' THEN 'direct' ELSE 'shared' END AS via FROM participants p
           JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
           JOIN participants o ON o.conversation_id = p.conversation_id AND o.user_id <> p.user_id AND o.left_at IS NULL
          WHERE p.user_id = ? AND p.left_at IS NULL${inList('o.user_id')}
         UNION
         SELECT f.user_b, 'friend' FROM friendships f WHERE f.user_a = ? AND f.status = 'accepted'${inList('f.user_b')}
         UNION
         SELECT f.user_a, 'friend' FROM friendships f WHERE f.user_b = ? AND f.status = 'accepted'${inList('f.user_a')}`,
        [userId, ...(list ?? []), userId, ...(list ?? []), userId, ...(list ?? [])],
      ),
    );
    for (const r of rows) (r.via === 'direct' ? out.direct : r.via === 'friend' ? out.friends : out.shared).push(Number(r.id));
    return out;
  }

  async markRead(conversationId: Id, userId: Id, seq: number, at: Millis): Promise<number | null> {
    const g = this.#greatest;
    const r = await this.#first<{ read_seq: number }>(
      raw(
        `UPDATE participants SET
           read_seq = (SELECT min(?, last_seq) FROM conversations WHERE id = ?),
           delivered_seq = ${g}(delivered_seq, (SELECT min(?, last_seq) FROM conversations WHERE id = ?)),
           read_at = ?
         WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL
           AND read_seq < (SELECT min(?, last_seq) FROM conversations WHERE id = ?)
         RETURNING read_seq`.replace(/min\(/g, this.dialect === 'sqlite' ? 'min(' : 'least('),
        [seq, conversationId, seq, conversationId, at, conversationId, userId, seq, conversationId],
      ),
    );
    return r ? r.read_seq : null;
  }

  async markDelivered(updates: readonly { conversationId: Id; userId: Id; seq: number }[]): Promise<void> {
    if (updates.length === 0) return;
    const g = this.#greatest;
    const least = this.dialect === 'sqlite' ? 'min' : 'least';
    // Rows are locked in (conversation, user) order, the order appendMessages uses, so the
    // two never deadlock on PostgreSQL; then one statement for all of them.
    const ordered = [...updates].sort((a, b) => a.conversationId - b.conversationId || a.userId - b.userId);
    await this.runner.transaction(async (tx) => {
      await this.#lockInOrder(tx, 'participants', 'conversation_id, user_id', ordered.map((u) => [u.conversationId, u.userId]));
      // Capped at last_seq, like markRead (Store contract: never past last_seq).
      await tx.run(
        raw(
          `UPDATE participants SET delivered_seq = ${g}(participants.delivered_seq, ${least}(v.column3, conversations.last_seq))
           FROM (VALUES ${this.#valueRows(ordered.length, ['BIGINT', 'BIGINT', 'BIGINT'])}) AS v, conversations
           WHERE participants.conversation_id = v.column1 AND participants.user_id = v.column2 AND conversations.id = v.column1`,
          ordered.flatMap((u) => [u.conversationId, u.userId, u.seq]),
        ),
      );
    });
  }

  /** `(?, ?), (?, ?)…` for a VALUES list; PostgreSQL is told each column's type. */
  #valueRows(rows: number, types: readonly string[]): string {
    const row = '(' + types.map((t) => (this.dialect === 'postgres' ? `CAST(? AS ${t})` : '?')).join(', ') + ')';
    return new Array(rows).fill(row).join(', ');
  }

  /**
   * PostgreSQL: locks the rows with these keys in the given (sorted) order, so concurrent
   * transactions that touch several of them queue instead of deadlocking. SQLite locks the
   * whole database for a write transaction; nothing to do.
   */
  async #lockInOrder(tx: SqlRunner, table: string, keyColumns: string, keys: readonly (readonly number[])[]): Promise<void> {
    if (this.dialect !== 'postgres' || keys.length < 2) return;
    const width = keys[0].length;
    const where = width === 1 ? `${keyColumns} IN (${keys.map(() => '?').join(', ')})` : `(${keyColumns}) IN (${keys.map(() => `(${new Array(width).fill('?').join(', ')})`).join(', ')})`;
    await tx.all(raw(`SELECT 1 FROM ${table} WHERE ${where} ORDER BY ${keyColumns} FOR UPDATE`, keys.flat()));
  }

  // ------------------------------------------------------------------ messages

  /** Loads attachments and reactions for message rows, in one query each. */
  async #hydrate(rows: Row[], r: SqlRunner = this.runner): Promise<Message[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((m) => m.id);
    const parents = [...new Set(rows.filter((m) => m.reply_to_id != null).map((m) => m.reply_to_id as number))];
    if (parents.length > 0) {
      const found = await r.all<{ id: number; uuid: string }>(raw(`SELECT id, uuid FROM messages WHERE id IN (${placeholders(parents.length)})`, parents));
      const uuidOf = new Map(found.map((p) => [p.id, p.uuid]));
      for (const m of rows) if (m.reply_to_id != null) m.reply_to_uuid = uuidOf.get(m.reply_to_id) ?? null;
    }
    const [atts, reacts] = await Promise.all([
      this.#all(
        this.db.selectFrom('attachments').selectAll().where('message_id', 'in', ids).orderBy('message_id').orderBy('position'),
        r,
      ),
      this.#all(
        this.db
          .selectFrom('reactions')
          .select(['message_id', 'user_id', 'emoji'])
          .where('message_id', 'in', ids)
          .orderBy('id'),
        r,
      ),
    ]);
    const attBy = new Map<Id, Attachment[]>();
    for (const a of atts) {
      let list = attBy.get(a.message_id);
      if (!list) attBy.set(a.message_id, (list = []));
      list.push(toAttachment(a));
    }
    const reactBy = new Map<Id, ReactionSummary[]>();
    for (const x of reacts) {
      let list = reactBy.get(x.message_id);
      if (!list) reactBy.set(x.message_id, (list = []));
      let entry = list.find((e) => e.emoji === x.emoji);
      if (!entry) list.push((entry = { emoji: x.emoji, userIds: [] }));
      entry.userIds.push(x.user_id);
    }
    return rows.map((m) => toMessage(m, m.deleted_at == null ? (attBy.get(m.id) ?? []) : [], reactBy.get(m.id) ?? []));
  }

  /** Moves member_count by `delta` (under #lockConversation); returns it. */
  async #countMembers(tx: SqlRunner, conversationId: Id, delta: number): Promise<number> {
    const r = await tx.all<{ member_count: number }>(
      raw('UPDATE conversations SET member_count = member_count + ? WHERE id = ? RETURNING member_count', [delta, conversationId]),
    );
    return Number(r[0]?.member_count ?? 0);
  }

  async addParticipants(conversationId: Id, participants: readonly { userId: Id; role: Role }[], at: Millis, opts: { maxMembers?: number } = {}): Promise<Id[]> {
    return this.runner.transaction(async (tx) => {
      await this.#lockConversation(tx, conversationId);
      const added: Id[] = [];
      for (const p of participants) {
        // Insert if absent, or bring back one who left; a current participant is left as they
        // are (Store contract): their role changes through setRole only.
        const rows = await tx.all<{ user_id: number }>(
          raw(
            `INSERT INTO participants (conversation_id, user_id, role, joined_at, left_at, muted, read_seq, delivered_seq, read_at)
             VALUES (?, ?, ?, ?, NULL, 0, (SELECT last_seq FROM conversations WHERE id = ?), (SELECT last_seq FROM conversations WHERE id = ?), NULL)
             ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, left_at = NULL, joined_at = excluded.joined_at
             WHERE participants.left_at IS NOT NULL
             RETURNING user_id`,
            [conversationId, p.userId, p.role, at, conversationId, conversationId],
          ),
        );
        if (rows.length > 0) added.push(p.userId);
      }
      // What member_count gains: who joined now. Rolled back past the cap: two processes adding
      // at once cannot overshoot it (the lock).
      if (added.length > 0) {
        const count = await this.#countMembers(tx, conversationId, added.length);
        if (opts.maxMembers !== undefined && count > opts.maxMembers) throw new DomainError('conversation_full');
      }
      return added;
    });
  }

  async removeParticipant(conversationId: Id, userId: Id, at: Millis): Promise<boolean> {
    return this.runner.transaction(async (tx) => {
      const { target, admins, count } = await this.#roles(tx, conversationId, userId);
      if (target === undefined) return false;
      if (target === 'admin' && admins === 1 && count > 1) throw new DomainError('last_admin');
      await tx.run(raw('UPDATE participants SET left_at = ? WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL', [at, conversationId, userId]));
      await this.#countMembers(tx, conversationId, -1);
      return true;
    });
  }

  async setRole(conversationId: Id, userId: Id, role: Role): Promise<boolean> {
    return this.runner.transaction(async (tx) => {
      const { target, admins } = await this.#roles(tx, conversationId, userId);
      if (target === undefined) return false;
      if (target === 'admin' && role !== 'admin' && admins === 1) throw new DomainError('last_admin');
      await tx.run(raw('UPDATE participants SET role = ? WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL', [role, conversationId, userId]));
      return true;
    });
  }

  /**
   * The current role of `userId` and the admins and participants of the conversation, read
   * under the conversation's lock: membership changes of one conversation run one at a time,
   * so a check of the last-admin rule still holds when its write commits (two admins
   * demoting each other at once cannot both succeed).
   */
  async #roles(tx: SqlRunner, conversationId: Id, userId: Id): Promise<{ target: Role | undefined; admins: number; count: number }> {
    await this.#lockConversation(tx, conversationId);
    const rows = await tx.all<{ user_id: number; role: Role }>(raw('SELECT user_id, role FROM participants WHERE conversation_id = ? AND left_at IS NULL', [conversationId]));
    return {
      target: rows.find((r) => Number(r.user_id) === userId)?.role,
      admins: rows.filter((r) => r.role === 'admin').length,
      count: rows.length,
    };
  }

  /**
   * PostgreSQL: takes the conversation's row lock for the rest of the transaction (the lock
   * appendMessages takes first too, so the two never deadlock). SQLite's write transaction
   * already holds the whole database.
   */
  async #lockConversation(tx: SqlRunner, conversationId: Id): Promise<void> {
    if (this.dialect === 'postgres') await tx.all(raw('SELECT id FROM conversations WHERE id = ? FOR UPDATE', [conversationId]));
  }

  async updateConversation(conversationId: Id, changes: { title?: string | null }, at: Millis): Promise<Conversation | undefined> {
    if (changes.title !== undefined) {
      await this.runner.run(raw('UPDATE conversations SET title = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [changes.title, at, conversationId]));
    }
    return this.conversationById(conversationId);
  }

  async deleteConversation(conversationId: Id, at: Millis): Promise<void> {
    await this.runner.run(raw('UPDATE conversations SET deleted_at = ?, updated_at = ? WHERE id = ?', [at, at, conversationId]));
  }

  async addMentions(messageId: Id, userIds: readonly Id[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.runner.run(
      this.db
        .insertInto('mentions')
        .values(userIds.map((u) => ({ message_id: messageId, user_id: u })))
        .onConflict((oc) => oc.columns(['message_id', 'user_id']).doNothing())
        .compile(),
    );
  }

  async appendMessages(batch: readonly NewMessage[], opts: AppendOptions = {}): Promise<AppendOutcome[]> {
    if (batch.length === 0) return [];
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#append(batch, opts.probe);
      } catch (e) {
        // A retry raced its original in another transaction (another process, or another
        // pool connection): that one has committed now, so the next attempt finds it.
        if (attempt < 5 && e instanceof UniqueViolation && e.constraint === 'messages_sender_conversation_client') continue;
        // The session died before the commit (this process was stopped past the server's
        // idle timeout): nothing was written, a fresh connection does it.
        if (attempt < 5 && e instanceof NotCommitted) continue;
        throw e;
      }
    }
  }

  /**
   * PostgreSQL: locks the batch's conversation rows in id order, waiting at most `lockWaitMs`
   * for the ones another transaction holds (a process stopped mid-commit holds them until
   * it resumes or the server ends its idle transaction); `probe` ones are only taken if free.
   * Returns the conversations left out. SQLite has one writer: nothing to lock.
   */
  async #lockConversations(tx: SqlRunner, ids: readonly Id[], probe: ReadonlySet<Id> | undefined): Promise<Set<Id>> {
    const out = new Set<Id>();
    if (this.dialect !== 'postgres' || ids.length === 0) return out;
    const waitFor = ids.filter((id) => !probe?.has(id));
    const tryOnly = ids.filter((id) => probe?.has(id));
    // Ids are integers from our own rows, written inline: the savepoint, the wait bound and
    // the lock then go in one round trip (a query with parameters takes one statement).
    const list = (xs: readonly Id[]) => xs.map((x) => String(Math.trunc(x))).join(', ');
    const skipLocked = async (xs: readonly Id[]) => {
      const got = await tx.all<{ id: number }>(raw(`SELECT id FROM conversations WHERE id IN (${list(xs)}) ORDER BY id FOR UPDATE SKIP LOCKED`, []));
      const have = new Set(got.map((r) => Number(r.id)));
      for (const x of xs) if (!have.has(x)) out.add(x);
    };
    if (waitFor.length > 0) {
      try {
        await tx.run(
          raw(
            `SAVEPOINT lock_wait; SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(this.lockWaitMs))}; ` +
              `SELECT 1 FROM conversations WHERE id IN (${list(waitFor)}) ORDER BY id FOR UPDATE; SET LOCAL lock_timeout = DEFAULT`,
            [],
          ),
        );
      } catch (e) {
        if (!(e instanceof LockNotAvailable)) throw e;
        // Some row is held: keep what is free now, leave the rest for a later batch.
        await tx.run(raw('ROLLBACK TO SAVEPOINT lock_wait; SET LOCAL lock_timeout = DEFAULT', []));
        await skipLocked(waitFor);
      }
    }
    if (tryOnly.length > 0) await skipLocked(tryOnly);
    return out;
  }

  /** Tests only: runs inside the append's transaction once its conversations are locked. */
  afterLock: ((conversationIds: readonly Id[]) => Promise<void>) | null = null;

  async #append(batch0: readonly NewMessage[], probe: ReadonlySet<Id> | undefined): Promise<AppendOutcome[]> {
    const g = this.#greatest;
    return this.runner.transaction(async (tx) => {
      const outcomes: AppendOutcome[] = new Array(batch0.length);
      // 0. The conversations this transaction may write (PostgreSQL: locked, in id order).
      const left = await this.#lockConversations(tx, [...new Set(batch0.map((m) => m.conversationId))].sort((a, b) => a - b), probe);
      const taken: number[] = [];
      for (let i = 0; i < batch0.length; i++) {
        if (left.has(batch0[i].conversationId)) outcomes[i] = { deferred: true };
        else taken.push(i);
      }
      const batch = left.size === 0 ? batch0 : taken.map((i) => batch0[i]);
      if (this.afterLock) await this.afterLock([...new Set(batch.map((m) => m.conversationId))]);
      const results: (AppendResult | undefined)[] = new Array(batch.length);
      // The retry key (Store contract): a client id names a send within its conversation only.
      const retryKey = (senderId: Id, conversationId: Id, clientId: string | null) => `${senderId}\u0000${conversationId}\u0000${clientId}`;
      const keyOf = (m: { senderId: Id; conversationId: Id; clientId: string | null }) => retryKey(m.senderId, m.conversationId, m.clientId);

      // 1. Retries: a (sender, conversation, client_id) already stored, or twice in this batch.
      const withClient = batch.filter((m) => m.clientId !== null);
      const existing = new Map<string, Row>();
      if (withClient.length > 0) {
        // Exact keys joined to the unique index: one index probe each.
        // (Row-value IN (VALUES …) made SQLite scan the table; IN lists would probe their product.)
        const keys = [...new Map(withClient.map((m) => [keyOf(m), m])).values()];
        const rows = await tx.all<Row>(
          raw(
            `SELECT ${MESSAGE_COLUMNS.split(', ').map((c) => 'm.' + c).join(', ')} FROM (VALUES ${new Array(keys.length).fill('(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS VARCHAR(255)))').join(', ')}) AS v
             JOIN messages m ON m.sender_id = v.column1 AND m.conversation_id = v.column2 AND m.client_id = v.column3`,
            keys.flatMap((m) => [m.senderId, m.conversationId, m.clientId]),
          ),
        );
        for (const r of rows) existing.set(retryKey(Number(r.sender_id), Number(r.conversation_id), r.client_id), r);
      }
      const fresh: number[] = [];
      const firstInBatch = new Map<string, number>();
      const duplicateOf = new Map<number, number>();
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i];
        if (m.clientId !== null) {
          const key = keyOf(m);
          if (existing.has(key)) continue;
          const first = firstInBatch.get(key);
          if (first !== undefined) {
            duplicateOf.set(i, first);
            continue;
          }
          firstInBatch.set(key, i);
        }
        fresh.push(i);
      }
      if (existing.size > 0) {
        const hydrated = await this.#hydrate([...existing.values()], tx);
        const byKey = new Map(hydrated.map((m) => [keyOf(m), m]));
        for (let i = 0; i < batch.length; i++) {
          const m = batch[i];
          if (m.clientId !== null && byKey.has(keyOf(m))) results[i] = { message: byKey.get(keyOf(m))!, created: false };
        }
      }

      // 2. Seqs: one UPDATE … RETURNING for every conversation of the batch. On PostgreSQL
      //    the rows are locked first in id order, so two processes' batches lock them in
      //    the same order (no deadlock) and each batch costs two round trips, not one per
      //    conversation.
      const perConversation = new Map<Id, number[]>();
      for (const i of fresh) {
        const c = batch[i].conversationId;
        let list = perConversation.get(c);
        if (!list) perConversation.set(c, (list = []));
        list.push(i);
      }
      const seqs = new Array<number>(batch.length);
      const changeSeqs = new Array<number>(batch.length);
      if (perConversation.size > 0) {
        const convIds = [...perConversation.keys()].sort((a, b) => a - b);
        const params: unknown[] = [];
        for (const c of convIds) {
          const idx = perConversation.get(c)!;
          params.push(c, idx.length, batch[idx[idx.length - 1]].createdAt);
        }
        const rows = await tx.all<{ id: number; last_seq: number; change_seq: number }>(
          raw(
            `UPDATE conversations SET last_seq = conversations.last_seq + v.column2, change_seq = conversations.change_seq + v.column2, last_message_at = v.column3, updated_at = v.column3
             FROM (VALUES ${this.#valueRows(convIds.length, ['BIGINT', 'INTEGER', 'BIGINT'])}) AS v
             WHERE conversations.id = v.column1 AND conversations.deleted_at IS NULL RETURNING conversations.id, conversations.last_seq, conversations.change_seq`,
            params,
          ),
        );
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        for (const c of convIds) {
          const row = byId.get(c);
          if (!row) throw new DomainError('conversation_not_found');
          const idx = perConversation.get(c)!;
          let seq = Number(row.last_seq) - idx.length;
          let changeSeq = Number(row.change_seq) - idx.length;
          for (const i of idx) {
            seqs[i] = ++seq;
            changeSeqs[i] = ++changeSeq;
          }
        }
      }

      // 3. The rows, in one statement.
      if (fresh.length > 0) {
        const uuids = fresh.map(() => uuidv7());
        const values: unknown[] = [];
        for (let k = 0; k < fresh.length; k++) {
          const i = fresh[k];
          const m = batch[i];
          values.push(uuids[k], m.conversationId, seqs[i], changeSeqs[i], m.senderId, m.kind, m.content, m.replyToId, m.clientId, m.createdAt);
        }
        const rowSql = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)';
        const inserted = await tx.all<{ id: number; uuid: string }>(
          raw(
            `INSERT INTO messages (uuid, conversation_id, seq, change_seq, sender_id, kind, content, reply_to_id, client_id, created_at, reply_count) VALUES ${new Array(fresh.length).fill(rowSql).join(', ')} RETURNING id, uuid`,
            values,
          ),
        );
        const idByUuid = new Map(inserted.map((r) => [r.uuid, r.id]));

        for (let k = 0; k < fresh.length; k++) {
          const i = fresh[k];
          const m = batch[i];
          const id = idByUuid.get(uuids[k])!;
          const attachments: Attachment[] = [];
          for (let p = 0; p < m.attachments.length; p++) {
            const { pendingId, ...a } = m.attachments[p];
            if (pendingId !== undefined) {
              // An upload made before its message: claimed by the sender, once (Store contract).
              const claimed = await tx.all<Row>(
                raw(`UPDATE attachments SET message_id = ?, position = ? WHERE id = ? AND owner_id = ? AND message_id IS NULL RETURNING ${ATTACHMENT_COLUMNS}`, [
                  id,
                  p,
                  pendingId,
                  m.senderId,
                ]),
              );
              if (!claimed[0]) throw new DomainError('upload_not_found');
              attachments.push(toAttachment(claimed[0]));
              continue;
            }
            const aUuid = uuidv7();
            const aRow = await tx.all<{ id: number }>(
              raw(
                `INSERT INTO attachments (uuid, tenant_id, owner_id, message_id, position, kind, file_name, stored_path, size, mime_type, duration_seconds, width, height, thumbnail_path, created_at)
                 VALUES (?, (SELECT tenant_id FROM conversations WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
                [aUuid, m.conversationId, m.senderId, id, p, a.kind, a.fileName, a.storedPath, a.size, a.mimeType, a.durationSeconds, a.width, a.height, a.thumbnailPath, m.createdAt],
              ),
            );
            attachments.push({ id: aRow[0].id, uuid: aUuid, position: p, ...a });
          }
          let replyToUuid: string | null = null;
          if (m.replyToId !== null) {
            const parent = await tx.all<{ uuid: string }>(raw('UPDATE messages SET reply_count = reply_count + 1 WHERE id = ? RETURNING uuid', [m.replyToId]));
            replyToUuid = parent[0]?.uuid ?? null;
          }
          results[i] = {
            created: true,
            message: {
              id,
              uuid: uuids[k],
              conversationId: m.conversationId,
              seq: seqs[i],
              changeSeq: changeSeqs[i],
              senderId: m.senderId,
              kind: m.kind,
              content: m.content,
              replyToId: m.replyToId,
              replyToUuid,
              clientId: m.clientId,
              createdAt: m.createdAt,
              editedAt: null,
              deletedAt: null,
              attachments,
              reactions: [],
              replyCount: 0,
            },
          };
        }

        // 4. Each sender's delivered and sent watermarks move to its newest message. Its read
        //    watermark does not: only reading marks read, or a message that crossed the reply
        //    would show "read" without ever having been seen (004's status). Unread counts
        //    start above the newer of read_seq and sent_seq, so a reply still clears them.
        const senderTop = new Map<string, { c: Id; u: Id; seq: number }>();
        for (const i of fresh) {
          const m = batch[i];
          const key = `${m.conversationId}:${m.senderId}`;
          const cur = senderTop.get(key);
          if (!cur || cur.seq < seqs[i]) senderTop.set(key, { c: m.conversationId, u: m.senderId, seq: seqs[i] });
        }
        const watermarks = [...senderTop.values()].sort((a, b) => a.c - b.c || a.u - b.u);
        await this.#lockInOrder(tx, 'participants', 'conversation_id, user_id', watermarks.map((w) => [w.c, w.u]));
        // Only current participants: a sender removed (or gone with a deleted conversation)
        // after the core's cached check commits nothing (Store contract). On PostgreSQL the
        // UPDATE sees a removal committed before it, whatever the snapshot.
        const moved = await tx.all<{ conversation_id: number }>(
          raw(
            `UPDATE participants SET delivered_seq = ${g}(participants.delivered_seq, v.column3), sent_seq = ${g}(participants.sent_seq, v.column3)
             FROM (VALUES ${this.#valueRows(watermarks.length, ['BIGINT', 'BIGINT', 'BIGINT'])}) AS v
             WHERE participants.conversation_id = v.column1 AND participants.user_id = v.column2 AND participants.left_at IS NULL
             RETURNING participants.conversation_id`,
            watermarks.flatMap((w) => [w.c, w.u, w.seq]),
          ),
        );
        if (moved.length < watermarks.length) throw new DomainError('conversation_not_found');
      }
      for (const [i, first] of duplicateOf) results[i] = { message: results[first]!.message, created: false };
      if (left.size === 0) return results as AppendResult[];
      for (let k = 0; k < taken.length; k++) outcomes[taken[k]] = results[k]!;
      return outcomes;
    });
  }

  async messageById(id: Id): Promise<Message | undefined> {
    // An id no row can have (1e20 from a client) is simply not found, on both databases:
    // PostgreSQL would otherwise refuse it as a bigint and answer a 500.
    if (!Number.isSafeInteger(id)) return undefined;
    const rows = await this.runner.all<Row>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [id]));
    return (await this.#hydrate(rows))[0];
  }

  async messageByUuid(uuid: string): Promise<Message | undefined> {
    const rows = await this.runner.all<Row>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE uuid = ?`, [uuid]));
    return (await this.#hydrate(rows))[0];
  }

  async messagesBySeq(conversationId: Id, fromSeq: number, toSeq: number): Promise<Message[]> {
    if (toSeq < fromSeq) return [];
    const rows = await this.runner.all<Row>(
      raw(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq >= ? AND seq <= ? ORDER BY seq DESC`,
        [conversationId, fromSeq, toSeq],
      ),
    );
    return this.#hydrate(rows);
  }

  async lastMessages(conversations: readonly Conversation[]): Promise<Map<Id, Message>> {
    const out = new Map<Id, Message>();
    const withMessages = conversations.filter((c) => c.lastSeq > 0);
    if (withMessages.length === 0) return out;
    // One probe of (conversation_id, seq) per conversation. PostgreSQL is asked for the newest
    // seq up to last_seq, which only that index serves without a sort: asked for seq = last_seq
    // it could pick (conversation_id, change_seq) and filter a whole conversation's messages.
    const values = `(VALUES ${this.#valueRows(withMessages.length, ['BIGINT', 'BIGINT'])}) AS v`;
    const rows = await this.runner.all<Row>(
      raw(
        this.dialect === 'postgres'
          ? `SELECT m.* FROM ${values} CROSS JOIN LATERAL
               (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = v.column1 AND seq <= v.column2 ORDER BY seq DESC LIMIT 1) AS m`
          : `SELECT ${MESSAGE_COLUMNS.split(', ').map((c) => 'm.' + c).join(', ')} FROM ${values}
             JOIN messages m ON m.conversation_id = v.column1 AND m.seq = v.column2`,
        withMessages.flatMap((c) => [c.id, c.lastSeq]),
      ),
    );
    for (const m of await this.#hydrate(rows)) out.set(m.conversationId, m);
    return out;
  }

  async changesSince(conversationId: Id, afterChangeSeq: number, limit: number, maxSeq?: number): Promise<Message[]> {
    // With maxSeq the (conversation_id, change_seq) range still leads; seq only filters it.
    const bySeq = maxSeq === undefined ? '' : ' AND seq <= ?';
    const rows = await this.runner.all<Row>(
      raw(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND change_seq > ?${bySeq} ORDER BY change_seq ASC LIMIT ?`,
        maxSeq === undefined ? [conversationId, afterChangeSeq, limit] : [conversationId, afterChangeSeq, maxSeq, limit],
      ),
    );
    return this.#hydrate(rows);
  }

  snapshot<T>(fn: (reads: StoreReads) => Promise<T>): Promise<T> {
    // The same queries, run on the snapshot's transaction (Kysely here only compiles them).
    return this.runner.snapshot((tx) => fn(new SqlStore(this.dialect, this.db, tx, async () => {})));
  }

  /**
   * Takes the conversation's next change_seq and applies `change` to the message, in one
   * transaction. The message is read only after the conversation's row is locked (the
   * UPDATE that takes the change_seq): every change of a conversation queues on that lock, so
   * `change` decides on the message as the previous change left it — an edit racing a delete
   * sees the delete, two deletes see each other (PostgreSQL reads each statement afresh).
   */
  async #change(messageId: Id, at: Millis, change: (tx: SqlRunner, changeSeq: number, row: Row) => Promise<boolean>): Promise<{ message: Message; changed: boolean }> {
    return this.runner.transaction(async (tx) => {
      // A message never moves to another conversation: this read needs no lock.
      const where = (await tx.all<{ conversation_id: number }>(raw('SELECT conversation_id FROM messages WHERE id = ?', [messageId])))[0];
      if (!where) throw new DomainError('message_not_found');
      const cs = (
        await tx.all<{ change_seq: number }>(
          raw('UPDATE conversations SET change_seq = change_seq + 1, updated_at = ? WHERE id = ? RETURNING change_seq', [at, where.conversation_id]),
        )
      )[0].change_seq;
      const row = (await tx.all<Row>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [messageId])))[0];
      const changed = await change(tx, cs, row);
      if (!changed) throw new NoChange();
      await tx.run(raw('UPDATE messages SET change_seq = ? WHERE id = ?', [cs, messageId]));
      const after = await tx.all<Row>(raw(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [messageId]));
      return { message: (await this.#hydrate(after, tx))[0], changed: true };
    }).catch(async (e) => {
      // Nothing to change: roll back the change_seq we took, report the message as it is.
      if (e instanceof NoChange) return { message: (await this.messageById(messageId))!, changed: false };
      throw e;
    });
  }

  async editMessage(messageId: Id, content: string, at: Millis): Promise<Message> {
    const r = await this.#change(messageId, at, async (tx, _cs, row) => {
      if (row.deleted_at != null) throw new DomainError('message_deleted');
      await tx.run(raw('UPDATE messages SET content = ?, edited_at = ? WHERE id = ?', [content, at, messageId]));
      return true;
    });
    return r.message;
  }

  async deleteMessage(messageId: Id, at: Millis): Promise<{ message: Message; changed: boolean }> {
    return this.#change(messageId, at, async (tx, _cs, row) => {
      if (row.deleted_at != null) return false;
      await tx.run(raw('UPDATE messages SET content = NULL, deleted_at = ? WHERE id = ?', [at, messageId]));
      if (row.reply_to_id != null) {
        await tx.run(raw('UPDATE messages SET reply_count = reply_count - 1 WHERE id = ? AND reply_count > 0', [row.reply_to_id]));
      }
      return true;
    });
  }

  async setReaction(messageId: Id, userId: Id, emoji: string, on: boolean, at: Millis): Promise<{ message: Message; changed: boolean }> {
    return this.#change(messageId, at, async (tx, _cs, row) => {
      if (row.deleted_at != null) throw new DomainError('message_deleted');
      if (on) {
        const n = await tx.run(
          this.db
            .insertInto('reactions')
            .values({ uuid: uuidv7(), message_id: messageId, user_id: userId, emoji, created_at: at })
            .onConflict((oc) => oc.columns(['message_id', 'user_id', 'emoji']).doNothing())
            .compile(),
        );
        return n > 0;
      }
      const n = await tx.run(
        this.db.deleteFrom('reactions').where('message_id', '=', messageId).where('user_id', '=', userId).where('emoji', '=', emoji).compile(),
      );
      return n > 0;
    });
  }

  // ------------------------------------------------------------------ attachments

  async createPendingAttachments(tenantId: Id, ownerId: Id, attachments: readonly NewAttachment[], at: Millis, quota?: PendingQuota): Promise<Attachment[]> {
    if (attachments.length === 0) return [];
    return this.runner.transaction(async (tx) => {
      if (quota && (quota.maxFiles > 0 || quota.maxBytes > 0)) {
        // The owner's row is the lock: a second upload of the same user (in any process) waits
        // here until this one commits, then counts what it inserted. On SQLite the
        // transaction is BEGIN IMMEDIATE, which serializes writers already.
        if (this.dialect === 'postgres') await tx.all(raw('SELECT 1 FROM users WHERE id = ? FOR UPDATE', [ownerId]));
        const used = await this.pendingUsage(ownerId, tx);
        const files = used.files + attachments.length;
        const bytes = used.bytes + attachments.reduce((n, a) => n + a.size, 0);
        if ((quota.maxFiles > 0 && files > quota.maxFiles) || (quota.maxBytes > 0 && bytes > quota.maxBytes)) {
          throw new DomainError('upload_quota_exceeded');
        }
      }
      const out: Attachment[] = [];
      for (let p = 0; p < attachments.length; p++) {
        const { pendingId: _ignored, ...a } = attachments[p];
        const aUuid = uuidv7();
        const row = await tx.all<{ id: number }>(
          raw(
            `INSERT INTO attachments (uuid, tenant_id, owner_id, message_id, position, kind, file_name, stored_path, size, mime_type, duration_seconds, width, height, thumbnail_path, created_at)
             VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
            [aUuid, tenantId, ownerId, p, a.kind, a.fileName, a.storedPath, a.size, a.mimeType, a.durationSeconds, a.width, a.height, a.thumbnailPath, at],
          ),
        );
        out.push({ id: row[0].id, uuid: aUuid, position: p, ...a });
      }
      return out;
    });
  }

  async pendingUsage(ownerId: Id, r: SqlRunner = this.runner): Promise<PendingUsage> {
    const row = (
      await r.all<{ files: number | string; bytes: number | string | null }>(
        raw('SELECT COUNT(*) AS files, SUM(size) AS bytes FROM attachments WHERE owner_id = ? AND message_id IS NULL', [ownerId]),
      )
    )[0];
    // PostgreSQL answers COUNT and SUM of bigints as strings.
    return { files: Number(row?.files ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  async attachmentByPath(key: string): Promise<AttachmentRecord | undefined> {
    // Two probes, one per index, rather than an OR that may scan.
    for (const column of ['stored_path', 'thumbnail_path']) {
      const r = (
        await this.runner.all<Row>(
          raw(
            `SELECT a.id, a.uuid, a.position, a.kind, a.file_name, a.stored_path, a.size, a.mime_type, a.duration_seconds, a.width, a.height, a.thumbnail_path,
                    a.tenant_id, a.owner_id, a.message_id, a.created_at, m.conversation_id, m.deleted_at AS message_deleted_at,
                    c.deleted_at AS conversation_deleted_at
             FROM attachments a LEFT JOIN messages m ON m.id = a.message_id LEFT JOIN conversations c ON c.id = m.conversation_id
             WHERE a.${column} = ? LIMIT 1`,
            [key],
          ),
        )
      )[0];
      if (r) {
        return {
          attachment: toAttachment(r),
          tenantId: r.tenant_id,
          ownerId: r.owner_id,
          messageId: r.message_id ?? null,
          conversationId: r.conversation_id ?? null,
          messageDeletedAt: r.message_deleted_at ?? null,
          conversationDeletedAt: r.conversation_deleted_at ?? null,
          createdAt: r.created_at,
        };
      }
    }
    return undefined;
  }

  async referencedPaths(keys: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const rows = await this.runner.all<{ stored_path: string | null; thumbnail_path: string | null }>(
        raw(
          `SELECT stored_path, NULL AS thumbnail_path FROM attachments WHERE stored_path IN (${placeholders(chunk.length)})
           UNION ALL SELECT NULL, thumbnail_path FROM attachments WHERE thumbnail_path IN (${placeholders(chunk.length)})`,
          [...chunk, ...chunk],
        ),
      );
      for (const r of rows) out.add((r.stored_path ?? r.thumbnail_path)!);
    }
    return out;
  }

  async deletePendingAttachments(before: Millis): Promise<string[]> {
    const rows = await this.runner.all<{ stored_path: string; thumbnail_path: string | null }>(
      raw('DELETE FROM attachments WHERE message_id IS NULL AND created_at < ? RETURNING stored_path, thumbnail_path', [before]),
    );
    return rows.flatMap((r) => (r.thumbnail_path ? [r.stored_path, r.thumbnail_path] : [r.stored_path]));
  }

  async deletedConversationFiles(): Promise<{ conversationId: Id; deletedAt: Millis; keys: string[] }[]> {
    // The partial index conversations_files_to_purge holds exactly these conversations.
    const convs = await this.runner.all<{ id: number; deleted_at: number }>(
      raw('SELECT id, deleted_at FROM conversations WHERE deleted_at IS NOT NULL AND files_purged_at IS NULL ORDER BY id', []),
    );
    const out: { conversationId: Id; deletedAt: Millis; keys: string[] }[] = [];
    for (const c of convs) {
      const rows = await this.runner.all<{ stored_path: string; thumbnail_path: string | null }>(
        raw('SELECT a.stored_path, a.thumbnail_path FROM messages m JOIN attachments a ON a.message_id = m.id WHERE m.conversation_id = ?', [c.id]),
      );
      const keys = rows.flatMap((r) => (r.thumbnail_path ? [r.stored_path, r.thumbnail_path] : [r.stored_path]));
      out.push({ conversationId: Number(c.id), deletedAt: Number(c.deleted_at), keys });
    }
    return out;
  }

  async markConversationFilesPurged(conversationIds: readonly Id[], at: Millis): Promise<void> {
    for (let i = 0; i < conversationIds.length; i += 500) {
      const chunk = conversationIds.slice(i, i + 500);
      await this.runner.run(raw(`UPDATE conversations SET files_purged_at = ? WHERE id IN (${placeholders(chunk.length)})`, [at, ...chunk]));
    }
  }
}

class NoChange extends Error {}

const toFriendship = (r: Row): FriendshipRow => ({
  userA: r.user_a,
  userB: r.user_b,
  status: r.status as FriendStatus,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
