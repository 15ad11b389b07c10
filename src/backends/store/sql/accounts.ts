import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { ApiKey, Id, IncomingWebhook, Invite, Millis, NotifyContent, Tenant, User, UserSummary } from '../../../core/model.js';
import { DEFAULT_TENANT_UUID } from '../migrations/0001-initial.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { AccountStore, NewApiKey, NewIncomingWebhook, NewInvite, NewUser } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { containsPattern } from './directory.js';
import { INVITE_COLUMNS, SUMMARY_COLUMNS, USER_COLUMNS, toApiKey, toIncomingWebhook, toInvite, toSummary, toTenant, toUser, type ApiKeyRow, type IncomingWebhookRow } from './rows.js';

/**
 * A table of secrets: API keys (owned by a tenant) and incoming webhooks (owned by a
 * conversation) are found by uuid or digest, listed and revoked within their owner alike.
 */
interface SecretTable<Row, T> {
  readonly table: 'api_keys' | 'incoming_webhooks';
  readonly owner: 'tenant_id' | 'conversation_id';
  readonly toDomain: (r: Row) => T;
}
const API_KEYS: SecretTable<ApiKeyRow, ApiKey> = { table: 'api_keys', owner: 'tenant_id', toDomain: toApiKey };
const INCOMING_WEBHOOKS: SecretTable<IncomingWebhookRow, IncomingWebhook> = { table: 'incoming_webhooks', owner: 'conversation_id', toDomain: toIncomingWebhook };

/** Thrown inside a transaction to roll it back when an invite cannot be claimed. */
class InviteNotClaimed extends Error {}

/** Tenants, users and invites. */
export class SqlAccounts extends SqlAggregate implements AccountStore {
  #defaultTenant: Tenant | undefined;

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
    const r = await this.first(this.db.selectFrom('tenants').selectAll().where('id', '=', id));
    return r && toTenant(r);
  }

  async tenantByUuid(uuid: string): Promise<Tenant | undefined> {
    const r = await this.first(this.db.selectFrom('tenants').selectAll().where('uuid', '=', uuid));
    return r && toTenant(r);
  }

  async createTenant(uuid: string, name: string, at: Millis = Date.now()): Promise<Tenant | undefined> {
    const created = await this.#insertTenant(uuid, name, at);
    return created === 1 ? this.tenantByUuid(uuid) : undefined;
  }

  async setTenantNotifyContent(tenantId: Id, content: NotifyContent | null): Promise<void> {
    await this.runner.run(raw('UPDATE tenants SET notify_content = ? WHERE id = ?', [content, tenantId]));
    this.#defaultTenant = undefined;
  }

  async ensureTenant(uuid: string, name: string, at: Millis = Date.now()): Promise<Tenant> {
    await this.#insertTenant(uuid, name, at);
    return (await this.tenantByUuid(uuid))!;
  }

  /** 1 when this call created it, 0 when the uuid was taken. */
  #insertTenant(uuid: string, name: string, at: Millis): Promise<number> {
    return this.runner.run(
      this.db
        .insertInto('tenants')
        .values({ uuid, name, created_at: at })
        .onConflict((oc) => oc.column('uuid').doNothing())
        .compile(),
    );
  }

  // ------------------------------------------------------------------ users

  #users() {
    return this.db
      .selectFrom('users')
      .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
      .select([...USER_COLUMNS.map((c) => `users.${c}` as const), 'tenants.uuid as tenant_uuid']);
  }

  async createUser(u: NewUser, at: Millis = Date.now()): Promise<User> {
    const uuid = uuidv7();
    await this.runner.transaction((tx) => this.#insertUser(tx, u, uuid, at));
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
        const id = await this.#insertUser(tx, u, uuid, at);
        await tx.run(raw('UPDATE invites SET used_by = ? WHERE code_hash = ?', [id, codeHash]));
      });
    } catch (e) {
      if (e instanceof InviteNotClaimed) return undefined;
      throw e;
    }
    return this.userByUuid(uuid);
  }

  async #insertUser(tx: SqlRunner, u: NewUser, uuid: string, now: Millis): Promise<Id> {
    let role = u.tenantRole ?? (u.isBot ? 'member' : undefined);
    if (!role) {
      // Taking the tenant's row first queues concurrent creations in one tenant here, so
      // exactly one of them sees no user yet (SQLite runs one write transaction at a time).
      await tx.run(raw('UPDATE tenants SET name = name WHERE id = ?', [u.tenantId]));
      const existing = await tx.all<{ id: Id }>(raw('SELECT id FROM users WHERE tenant_id = ? LIMIT 1', [u.tenantId]));
      role = existing.length === 0 ? 'admin' : 'member';
    }
    const rows = await this.all(
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
          is_bot: u.isBot ? 1 : 0,
        })
        .returning('id'),
      tx,
    );
    return rows[0].id;
  }

  async userById(id: Id): Promise<User | undefined> {
    if (!Number.isSafeInteger(id)) return undefined; // see SqlMessages.messageById
    const r = await this.first(this.fixed('userById', [id], () => this.#users().where('users.id', '=', id)));
    return r && toUser(r);
  }

  async userByUuid(uuid: string): Promise<User | undefined> {
    const r = await this.first(this.fixed('userByUuid', [uuid], () => this.#users().where('users.uuid', '=', uuid)));
    return r && toUser(r);
  }

  async userByEmail(tenantId: Id, email: string): Promise<User | undefined> {
    const r = await this.first(
      this.#users().where('users.tenant_id', '=', tenantId).where('users.email', '=', email).where('users.external_subject', 'is', null),
    );
    return r && toUser(r);
  }

  async userByExternalSubject(tenantId: Id, issuer: string, subject: string): Promise<User | undefined> {
    const r = await this.first(
      this.fixed('userByExternalSubject', [tenantId, issuer, subject], () =>
        this.#users().where('users.tenant_id', '=', tenantId).where('users.external_issuer', '=', issuer).where('users.external_subject', '=', subject),
      ),
    );
    return r && toUser(r);
  }

  async passwordHash(userId: Id): Promise<string | null> {
    const r = await this.first(this.db.selectFrom('users').select('password_hash').where('id', '=', userId));
    return r?.password_hash ?? null;
  }

  async userSummaries(ids: readonly Id[]): Promise<Map<Id, UserSummary>> {
    const out = new Map<Id, UserSummary>();
    if (ids.length === 0) return out;
    const unique = [...new Set(ids)];
    const rows = await this.all(this.fixed(`userSummaries:${unique.length}`, unique, () => this.db.selectFrom('users').select(SUMMARY_COLUMNS).where('id', 'in', unique)));
    for (const r of rows) out.set(r.id, toSummary(r));
    return out;
  }

  async searchUsers(tenantId: Id, query: string, limit: number, excludeUserId: Id): Promise<UserSummary[]> {
    // Emails are stored lower-cased.
    const pattern = containsPattern(query.toLowerCase());
    const rows = await this.all(
      this.db
        .selectFrom('users')
        .select(SUMMARY_COLUMNS)
        .where('tenant_id', '=', tenantId)
        .where('id', '!=', excludeUserId)
        .where(sql<boolean>`email like ${pattern} escape '\\'`)
        .orderBy('email')
        .limit(limit),
    );
    return rows.map(toSummary);
  }

  async bumpTokenVersion(userId: Id, at: Millis): Promise<number> {
    const r = await this.first<{ token_version: number }>(
      raw('UPDATE users SET token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version', [at, userId]),
    );
    return r?.token_version ?? 0;
  }

  async setPasswordHash(userId: Id, passwordHash: string, at: Millis): Promise<number | undefined> {
    const r = await this.first<{ token_version: number }>(
      raw('UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version', [
        passwordHash,
        at,
        userId,
      ]),
    );
    return r?.token_version;
  }

  async setLastSeen(userId: Id, at: Millis): Promise<void> {
    await this.runner.run(this.fixed('setLastSeen', [at, userId], () => this.db.updateTable('users').set({ last_seen_at: at }).where('id', '=', userId)));
  }

  // ------------------------------------------------------------------ invites

  #invites() {
    return this.db
      .selectFrom('invites')
      .innerJoin('tenants', 'tenants.id', 'invites.tenant_id')
      .select([...INVITE_COLUMNS.map((c) => `invites.${c}` as const), 'tenants.uuid as tenant_uuid']);
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
    return toInvite((await this.first(this.#invites().where('invites.uuid', '=', uuid)))!);
  }

  async inviteByCodeHash(codeHash: string): Promise<Invite | undefined> {
    const r = await this.first(this.#invites().where('invites.code_hash', '=', codeHash));
    return r && toInvite(r);
  }

  async invites(tenantId: Id, limit: number): Promise<Invite[]> {
    const rows = await this.all(this.#invites().where('invites.tenant_id', '=', tenantId).orderBy('invites.id', 'desc').limit(limit));
    return rows.map(toInvite);
  }

  async revokeInvite(tenantId: Id, uuid: string, at: Millis): Promise<Invite | undefined> {
    await this.runner.run(
      raw('UPDATE invites SET revoked_at = ? WHERE tenant_id = ? AND uuid = ? AND used_at IS NULL AND revoked_at IS NULL', [at, tenantId, uuid]),
    );
    const r = await this.first(this.#invites().where('invites.tenant_id', '=', tenantId).where('invites.uuid', '=', uuid));
    return r && toInvite(r);
  }

  // ------------------------------------------------------------------ API keys and incoming webhooks

  async createApiKey(k: NewApiKey): Promise<ApiKey> {
    const uuid = uuidv7();
    await this.runner.run(
      this.db
        .insertInto('api_keys')
        .values({
          uuid,
          tenant_id: k.tenantId,
          bot_user_id: k.botUserId,
          name: k.name,
          scopes: k.scopes.join(','),
          secret_hash: k.secretHash,
          created_by: k.createdBy,
          created_at: k.createdAt,
          last_used_at: null,
          revoked_at: null,
        })
        .compile(),
    );
    return (await this.#secretBy(API_KEYS, 'uuid', uuid))!;
  }

  apiKeyBySecretHash(secretHash: string): Promise<(ApiKey & { secretHash: string }) | undefined> {
    return this.#secretBy(API_KEYS, 'secret_hash', secretHash);
  }

  apiKeys(tenantId: Id, limit: number): Promise<ApiKey[]> {
    return this.#secrets(API_KEYS, tenantId, limit);
  }

  revokeApiKey(tenantId: Id, uuid: string, at: Millis): Promise<ApiKey | undefined> {
    return this.#revokeSecret(API_KEYS, tenantId, uuid, at);
  }

  async touchApiKey(id: Id, at: Millis, notAfter: Millis): Promise<void> {
    await this.runner.run(raw('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)', [at, id, notAfter]));
  }

  async createIncomingWebhook(h: NewIncomingWebhook): Promise<IncomingWebhook> {
    const uuid = uuidv7();
    await this.runner.run(
      this.db
        .insertInto('incoming_webhooks')
        .values({
          uuid,
          tenant_id: h.tenantId,
          conversation_id: h.conversationId,
          bot_user_id: h.botUserId,
          name: h.name,
          secret_hash: h.secretHash,
          created_by: h.createdBy,
          created_at: h.createdAt,
          revoked_at: null,
        })
        .compile(),
    );
    return (await this.#secretBy(INCOMING_WEBHOOKS, 'uuid', uuid))!;
  }

  incomingWebhookByUuid(uuid: string): Promise<(IncomingWebhook & { secretHash: string }) | undefined> {
    return this.#secretBy(INCOMING_WEBHOOKS, 'uuid', uuid);
  }

  incomingWebhooks(conversationId: Id, limit: number): Promise<IncomingWebhook[]> {
    return this.#secrets(INCOMING_WEBHOOKS, conversationId, limit);
  }

  revokeIncomingWebhook(conversationId: Id, uuid: string, at: Millis): Promise<IncomingWebhook | undefined> {
    return this.#revokeSecret(INCOMING_WEBHOOKS, conversationId, uuid, at);
  }

  async #secretBy<Row extends { secret_hash: string }, T>(t: SecretTable<Row, T>, column: 'uuid' | 'secret_hash', value: string): Promise<(T & { secretHash: string }) | undefined> {
    const r = await this.first<Row>(raw(`SELECT * FROM ${t.table} WHERE ${column} = ?`, [value]));
    return r && { ...t.toDomain(r), secretHash: r.secret_hash };
  }

  async #secrets<Row, T>(t: SecretTable<Row, T>, owner: Id, limit: number): Promise<T[]> {
    const rows = await this.all<Row>(raw(`SELECT * FROM ${t.table} WHERE ${t.owner} = ? ORDER BY id DESC LIMIT ?`, [owner, limit]));
    return rows.map(t.toDomain);
  }

  /** Revokes one of the owner's secrets (once: a second revocation keeps the first time); undefined when the owner has no such uuid. */
  async #revokeSecret<Row, T>(t: SecretTable<Row, T>, owner: Id, uuid: string, at: Millis): Promise<T | undefined> {
    await this.runner.run(raw(`UPDATE ${t.table} SET revoked_at = ? WHERE ${t.owner} = ? AND uuid = ? AND revoked_at IS NULL`, [at, owner, uuid]));
    const r = await this.first<Row>(raw(`SELECT * FROM ${t.table} WHERE ${t.owner} = ? AND uuid = ?`, [owner, uuid]));
    return r && t.toDomain(r);
  }
}
