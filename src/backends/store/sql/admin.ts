import { sql } from 'kysely';
import type { Conversation, Id, Millis, Tenant, TenantRole, User } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { AdminStore, TenantSettings } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { recomputeUserPushAll } from './notifications.js';
import { containsPattern } from './directory.js';
import { USER_COLUMNS, toConversation, toTenant, toUser } from './rows.js';

/** Thrown inside a transaction to roll it back when it would leave a tenant without an admin. */
class LastAdmin extends Error {}

const NO_SETTINGS: TenantSettings = { registration: null, maxUploadBytes: null, retentionDays: null, allowedOrigins: null };

/** Administration (issue 20): see AdminStore's rules in store.ts. */
export class SqlAdmin extends SqlAggregate implements AdminStore {
  #users() {
    return this.db
      .selectFrom('users')
      .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
      .select([...USER_COLUMNS.map((c) => `users.${c}` as const), 'tenants.uuid as tenant_uuid']);
  }

  async tenants(after: Id, limit: number): Promise<Tenant[]> {
    const rows = await this.all(this.db.selectFrom('tenants').selectAll().where('id', '>', after).orderBy('id').limit(limit));
    return rows.map(toTenant);
  }

  async tenantUsers(tenantId: Id, page: { after: Id; limit: number; query?: string }): Promise<User[]> {
    const q = page.query?.trim().toLowerCase() ?? '';
    const pattern = containsPattern(q);
    const rows = await this.all(
      this.#users()
        .where('users.tenant_id', '=', tenantId)
        .where('users.id', '>', page.after)
        .$if(q !== '', (b) => b.where(sql<boolean>`(users.email like ${pattern} escape '\\' or lower(users.name) like ${pattern} escape '\\')`))
        .orderBy('users.id')
        .limit(page.limit),
    );
    return rows.map(toUser);
  }

  /**
   * Runs `change` after taking the user's tenant's row, then fails it with `last_admin` when
   * the tenant is left without an active human admin (every admin change of a tenant queues
   * on that row, so the check sees the others' outcome).
   */
  async #keepingAnAdmin<T>(userId: Id, change: (tx: SqlRunner) => Promise<T>): Promise<T | 'last_admin' | undefined> {
    try {
      return await this.runner.transaction(async (tx) => {
        const user = (await tx.all<{ tenant_id: number }>(raw('SELECT tenant_id FROM users WHERE id = ?', [userId])))[0];
        if (!user) return undefined;
        await this.adapter.lockRow(tx, 'tenants', user.tenant_id);
        // SQLite: a write takes the database's one writer before the check reads.
        await tx.run(raw('UPDATE tenants SET name = name WHERE id = ?', [user.tenant_id]));
        const had = await this.#activeAdmins(tx, user.tenant_id);
        const result = await change(tx);
        if (had > 0 && (await this.#activeAdmins(tx, user.tenant_id)) === 0) throw new LastAdmin();
        return result;
      });
    } catch (e) {
      if (e instanceof LastAdmin) return 'last_admin';
      throw e;
    }
  }

  async #activeAdmins(tx: SqlRunner, tenantId: Id): Promise<number> {
    const r = await tx.all<{ n: number }>(
      raw(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM users WHERE tenant_id = ? AND tenant_role = 'admin' AND suspended_at IS NULL AND is_bot = 0 LIMIT 1) a`, [tenantId]),
    );
    return Number(r[0].n);
  }

  async suspendUser(userId: Id, at: Millis, reason: string | null): Promise<number | 'last_admin' | undefined> {
    return this.#keepingAnAdmin(userId, async (tx) => {
      const r = await tx.all<{ token_version: number }>(
        raw(
          `UPDATE users SET suspension_reason = CASE WHEN suspended_at IS NULL THEN ? ELSE suspension_reason END,
             suspended_at = COALESCE(suspended_at, ?), token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version`,
          [reason, at, at, userId],
        ),
      );
      return r[0]?.token_version;
    });
  }

  async reactivateUser(userId: Id, at: Millis): Promise<boolean> {
    const n = await this.runner.run(
      raw('UPDATE users SET suspended_at = NULL, suspension_reason = NULL, updated_at = ? WHERE id = ? AND suspended_at IS NOT NULL AND erased_at IS NULL', [at, userId]),
    );
    return n === 1;
  }

  async setOperator(userId: Id, on: boolean, at: Millis): Promise<boolean> {
    return (await this.runner.run(raw('UPDATE users SET is_operator = ?, updated_at = ? WHERE id = ?', [on ? 1 : 0, at, userId]))) === 1;
  }

  async setTenantRole(userId: Id, role: TenantRole, at: Millis): Promise<'changed' | 'unchanged' | 'last_admin'> {
    const r = await this.#keepingAnAdmin(userId, async (tx) => {
      const n = await tx.run(raw('UPDATE users SET tenant_role = ?, updated_at = ? WHERE id = ? AND tenant_role <> ?', [role, at, userId, role]));
      return n === 1 ? ('changed' as const) : ('unchanged' as const);
    });
    return r ?? 'unchanged';
  }

  async liveMessagesOf(senderId: Id, limit: number): Promise<Id[]> {
    const rows = await this.all(
      this.db.selectFrom('messages').select('id').where('sender_id', '=', senderId).where('deleted_at', 'is', null).orderBy('id').limit(limit),
    );
    return rows.map((r) => r.id);
  }

  async reactionsOf(userId: Id, limit: number): Promise<{ messageId: Id; emoji: string }[]> {
    const rows = await this.all(
      this.db
        .selectFrom('reactions as r')
        .innerJoin('messages as m', 'm.id', 'r.message_id')
        .select(['r.message_id', 'r.emoji'])
        .where('r.user_id', '=', userId)
        .where('m.deleted_at', 'is', null)
        .orderBy('r.id')
        .limit(limit),
    );
    return rows.map((r) => ({ messageId: r.message_id, emoji: r.emoji }));
  }

  async scrubErasedContent(userId: Id): Promise<string[]> {
    return this.runner.transaction(async (tx) => {
      const files = await tx.all<{ stored_path: string; thumbnail_path: string | null }>(
        raw('SELECT stored_path, thumbnail_path FROM attachments WHERE owner_id = ?', [userId]),
      );
      const mine = 'SELECT id FROM messages WHERE sender_id = ?';
      await tx.run(raw('DELETE FROM attachments WHERE owner_id = ?', [userId]));
      await tx.run(raw('UPDATE messages SET metadata = NULL, content = NULL WHERE sender_id = ? AND deleted_at IS NOT NULL', [userId]));
      await tx.run(raw(`DELETE FROM message_revisions WHERE editor_id = ? OR message_id IN (${mine})`, [userId, userId]));
      await tx.run(raw(`DELETE FROM pins WHERE pinned_by = ? OR message_id IN (${mine})`, [userId, userId]));
      for (const table of ['reactions', 'saved_messages', 'message_hides', 'notification_settings', 'push_subscriptions']) {
        await tx.run(raw(`DELETE FROM ${table} WHERE user_id = ?`, [userId]));
      }
      // No setting left: no membership of theirs is a candidate for every message's push.
      await recomputeUserPushAll(tx, this.adapter, userId);
      return files.flatMap((f) => (f.thumbnail_path ? [f.stored_path, f.thumbnail_path] : [f.stored_path]));
    });
  }

  async eraseProfile(userId: Id, at: Millis): Promise<number | 'last_admin' | undefined> {
    return this.#keepingAnAdmin(userId, async (tx) => {
      const r = await tx.all<{ token_version: number }>(
        raw(
          `UPDATE users SET name = 'Deleted user', email = 'erased-' || uuid || '@erased.invalid', avatar_url = NULL, password_hash = NULL,
             external_issuer = NULL, external_subject = NULL, suspended_at = COALESCE(suspended_at, ?), suspension_reason = NULL,
             erased_at = ?, token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version`,
          [at, at, at, userId],
        ),
      );
      return r[0]?.token_version;
    });
  }

  async tenantSettings(tenantId: Id, r_: SqlRunner = this.runner): Promise<TenantSettings> {
    const r = await this.first(this.db.selectFrom('tenant_settings').selectAll().where('tenant_id', '=', tenantId), r_);
    if (!r) return { ...NO_SETTINGS };
    return {
      registration: r.registration,
      maxUploadBytes: r.max_upload_bytes == null ? null : Number(r.max_upload_bytes),
      retentionDays: r.retention_days == null ? null : Number(r.retention_days),
      allowedOrigins: r.allowed_origins == null ? null : (JSON.parse(r.allowed_origins) as string[]),
    };
  }

  async originListed(origin: string): Promise<boolean> {
    // LIKE narrows the rows (its wildcards only widen it), the parsed list decides.
    const rows = await this.all(
      this.db.selectFrom('tenant_settings').select('allowed_origins').where('allowed_origins', 'like', `%${JSON.stringify(origin)}%`),
    );
    return rows.some((r) => r.allowed_origins !== null && (JSON.parse(r.allowed_origins) as string[]).includes(origin));
  }

  putTenantSettings(tenantId: Id, changes: Partial<TenantSettings>, at: Millis): Promise<TenantSettings> {
    // One transaction: inside Store.audited the merged read and the write are the action's.
    return this.runner.transaction((tx) => this.#putTenantSettings(tx, tenantId, changes, at));
  }

  async #putTenantSettings(tx: SqlRunner, tenantId: Id, changes: Partial<TenantSettings>, at: Millis): Promise<TenantSettings> {
    const merged = { ...(await this.tenantSettings(tenantId, tx)), ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) } as TenantSettings;
    const row = {
      registration: merged.registration,
      max_upload_bytes: merged.maxUploadBytes,
      retention_days: merged.retentionDays,
      allowed_origins: merged.allowedOrigins === null ? null : JSON.stringify(merged.allowedOrigins),
      updated_at: at,
    };
    // Only the columns given are written: the retention job's columns (legal_hold) are not ours.
    const given = Object.fromEntries(
      Object.entries({ registration: changes.registration, max_upload_bytes: changes.maxUploadBytes, retention_days: changes.retentionDays, allowed_origins: changes.allowedOrigins })
        .filter(([, v]) => v !== undefined)
        .map(([k]) => [k, row[k as keyof typeof row]]),
    );
    await tx.run(
      this.db
        .insertInto('tenant_settings')
        .values({ tenant_id: tenantId, ...row })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...given, updated_at: at }))
        .compile(),
    );
    return this.tenantSettings(tenantId, tx);
  }

  async tenantConversations(tenantId: Id, page: { after: Id; limit: number }): Promise<(Conversation & { archivedAt: Millis | null })[]> {
    const rows = await this.all(
      this.db.selectFrom('conversations').selectAll().where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).where('id', '>', page.after).orderBy('id').limit(page.limit),
    );
    return rows.map((r) => ({ ...toConversation(r), archivedAt: r.archived_at == null ? null : Number(r.archived_at) }));
  }

  async setConversationArchived(conversationId: Id, at: Millis | null): Promise<boolean> {
    const n = await this.runner.run(raw('UPDATE conversations SET archived_at = ? WHERE id = ? AND deleted_at IS NULL', [at, conversationId]));
    return n === 1;
  }

  async conversationArchivedAt(conversationId: Id): Promise<Millis | null> {
    const r = await this.first(this.fixed('conversationArchivedAt', [conversationId], () => this.db.selectFrom('conversations').select('archived_at').where('id', '=', conversationId)));
    return r?.archived_at == null ? null : Number(r.archived_at);
  }
}
