import type { Presence } from '../../backends/presence/presence.js';
import type { FileStore } from '../../backends/files/file-store.js';
import type { PushSubscription, Store, TenantSettings } from '../../backends/store/store.js';
import { REGISTRATIONS, type Config } from '../../config/config.js';
import { unrecordedAudit, type AuditEntryInput, type AuditRecorder } from '../audit/ports.js';
import type { Conversations } from '../conversations/conversations.js';
import { DomainError, refusal } from '../errors.js';
import type { EventPublisher } from '../events.js';
import type { Messages } from '../messages/messages.js';
import type { Conversation, Id, Member, Millis, Tenant, TenantRole, User } from '../model.js';
import type { Accounts } from './accounts.js';
import { requireAdministers, requireOperator } from './authority.js';

/** What an admin sees of a user's sessions and devices: Parley keeps no session rows, so these. */
export interface UserSessions {
  /** Tokens carry this version; every token of an older one is refused (suspension, logout, password change bump it). */
  tokenVersion: number;
  online: boolean;
  lastSeenAt: Millis | null;
  /** Devices that receive pushes. */
  devices: Pick<PushSubscription, 'id' | 'kind' | 'deviceId'>[];
}

export type AdminConversation = Conversation & { archivedAt: Millis | null };

const MAX_PAGE = 200;
const pageSize = (limit: number | undefined) => Math.min(Math.max(1, Math.floor(limit ?? 50)), MAX_PAGE);

/**
 * Administration (issue 20) for a tenant's admins and the server's operators (`authority.ts`):
 * users (list, view, erase, roles, password resets; suspension is Accounts'), conversations
 * (list, archive, delete, transfer) and tenant settings. Every action is recorded (`audit`), its
 * entry appended in the transaction of the write that commits it (docs/audit.md).
 */
export class Administration {
  audit: AuditRecorder = unrecordedAudit;

  constructor(
    readonly store: Store,
    readonly accounts: Accounts,
    readonly conversations: Conversations,
    readonly messages: Messages,
    readonly fileStore: FileStore,
    readonly presence: Presence,
    readonly events: EventPublisher,
    readonly config: Config,
  ) {}

  /** The tenant an actor acts on: their own, or for an operator the one named. */
  async tenantOf(actor: User, tenantUuid?: string): Promise<Tenant> {
    if (tenantUuid === undefined || tenantUuid === actor.tenantUuid) {
      requireAdministers(actor, actor.tenantId);
      return (await this.store.tenantById(actor.tenantId))!;
    }
    requireOperator(actor);
    const tenant = await this.store.tenantByUuid(tenantUuid.toLowerCase());
    if (!tenant) throw new DomainError('tenant_not_found');
    return tenant;
  }

  /** Every tenant (operators only), by id after `after`. */
  async tenants(actor: User, page: { after?: Id; limit?: number }): Promise<{ tenants: Tenant[]; next: Id | null }> {
    requireOperator(actor);
    const limit = pageSize(page.limit);
    const tenants = await this.store.tenants(page.after ?? 0, limit + 1);
    return { tenants: tenants.slice(0, limit), next: tenants.length > limit ? tenants[limit - 1].id : null };
  }

  /** A page of the tenant's users by id (a cursor, never an offset); `query` searches e-mail and name. */
  async users(actor: User, page: { tenantUuid?: string; after?: Id; limit?: number; query?: string }): Promise<{ users: User[]; next: Id | null }> {
    const tenant = await this.tenantOf(actor, page.tenantUuid);
    const limit = pageSize(page.limit);
    const users = await this.store.tenantUsers(tenant.id, { after: page.after ?? 0, limit: limit + 1, query: page.query });
    return { users: users.slice(0, limit), next: users.length > limit ? users[limit - 1].id : null };
  }

  async user(actor: User, userId: Id): Promise<{ user: User; sessions: UserSessions }> {
    const user = await this.accounts.administered(actor, userId);
    const devices = (await this.store.pushSubscriptions([user.id])).map(({ id, kind, deviceId }) => ({ id, kind, deviceId }));
    return {
      user,
      sessions: { tokenVersion: user.tokenVersion, online: this.presence.isOnline(user.id), lastSeenAt: this.presence.lastSeen(user.id) ?? user.lastSeenAt, devices },
    };
  }

  /**
   * Erases a user (a data-protection request): suspended first (sockets closed, nothing new
   * from them), then every message of theirs becomes a tombstone and their reactions go, each
   * as a change a resume replays (seqs stay gapless); then their files and what is left of
   * their content, and their profile (a "Deleted user", the e-mail free for a new account).
   */
  async erase(actor: User, userId: Id, origin?: string): Promise<{ messages: number; reactions: number; files: number }> {
    const target = await this.accounts.administered(actor, userId);
    if (target.id === actor.id) throw refusal('suspend_self');
    if (target.suspendedAt === null) await this.accounts.suspend(actor, target.id, 'erased', origin);
    const erased = await this.messages.eraseContentOf(target);
    const keys = await this.store.scrubErasedContent(target.id);
    await Promise.all(keys.map((k) => this.fileStore.remove(k).catch(() => {})));
    // The entry goes with the profile's erasure, the step that commits the erasure.
    const entry: AuditEntryInput = { tenantId: target.tenantId, actorId: actor.id, action: 'user.erase', targetType: 'user', targetId: target.uuid, origin, details: { ...erased, files: keys.length } };
    const version = await this.audit.within(this.store, (tx) => tx.eraseProfile(target.id, Date.now()), (v) => (typeof v === 'number' ? entry : null));
    if (version === 'last_admin') throw new DomainError('last_admin');
    if (version !== undefined) this.events.publishToUsers([target.id], { type: 'session.revoked', userId: target.id, version });
    return { ...erased, files: keys.length };
  }

  /** Changes a user's role in their tenant; the tenant keeps an active admin (`last_admin`). */
  async setTenantRole(actor: User, userId: Id, role: TenantRole, origin?: string): Promise<User> {
    const target = await this.accounts.administered(actor, userId);
    const entry: AuditEntryInput = { tenantId: target.tenantId, actorId: actor.id, action: 'user.role', targetType: 'user', targetId: target.uuid, origin, details: { from: target.tenantRole, to: role } };
    // Refused (last_admin) or unchanged: no entry.
    const outcome = await this.audit.within(this.store, (tx) => tx.setTenantRole(target.id, role, Date.now()), (o) => (o === 'changed' ? entry : null));
    if (outcome === 'last_admin') throw new DomainError('last_admin');
    return (await this.store.userById(target.id))!;
  }

  /** A new password for the user (generated when none is given), every session of theirs ended. */
  async resetPassword(actor: User, userId: Id, password: string | undefined, origin?: string): Promise<{ user: User; password: string; generated: boolean }> {
    const target = await this.accounts.administered(actor, userId);
    if (target.isBot) throw new DomainError('not_permitted');
    return this.accounts.resetPassword({ email: target.email, tenantUuid: target.tenantUuid, password }, () => ({
      tenantId: target.tenantId, actorId: actor.id, action: 'user.reset_password', targetType: 'user', targetId: target.uuid, origin,
    }));
  }

  // ------------------------------------------------------------------ conversations

  async conversationsOf(actor: User, page: { tenantUuid?: string; after?: Id; limit?: number }): Promise<{ conversations: AdminConversation[]; next: Id | null }> {
    const tenant = await this.tenantOf(actor, page.tenantUuid);
    const limit = pageSize(page.limit);
    const found = await this.store.tenantConversations(tenant.id, { after: page.after ?? 0, limit: limit + 1 });
    return { conversations: found.slice(0, limit), next: found.length > limit ? found[limit - 1].id : null };
  }

  async #administeredConversation(actor: User, key: Id | string): Promise<Conversation> {
    const conversation = typeof key === 'number' ? await this.store.conversationById(key) : await this.store.conversationByUuid(key);
    if (!conversation || (!actor.isOperator && conversation.tenantId !== actor.tenantId)) throw new DomainError('conversation_not_found');
    requireAdministers(actor, conversation.tenantId);
    return conversation;
  }

  /** Archives (read-only: no sends, still readable) or unarchives a conversation. */
  async archive(actor: User, key: Id | string, archived: boolean, origin?: string): Promise<AdminConversation> {
    const conversation = await this.#administeredConversation(actor, key);
    const at = archived ? Date.now() : null;
    const entry: AuditEntryInput = { tenantId: conversation.tenantId, actorId: actor.id, action: archived ? 'conversation.archive' : 'conversation.unarchive', targetType: 'conversation', targetId: conversation.uuid, origin };
    if (!(await this.audit.within(this.store, (tx) => tx.setConversationArchived(conversation.id, at), (done) => (done ? entry : null)))) throw new DomainError('conversation_not_found');
    return { ...conversation, archivedAt: await this.store.conversationArchivedAt(conversation.id) };
  }

  async deleteConversation(actor: User, key: Id | string, origin?: string): Promise<void> {
    const conversation = await this.#administeredConversation(actor, key);
    const ref = await this.conversations.refById(conversation.id);
    const entry: AuditEntryInput = { tenantId: conversation.tenantId, actorId: actor.id, action: 'conversation.delete', targetType: 'conversation', targetId: conversation.uuid, origin };
    await this.audit.within(this.store, (tx) => tx.deleteConversation(conversation.id, Date.now()), () => entry);
    this.events.publish({ type: 'conversation.deleted', conversation: ref });
  }

  /**
   * Hands a conversation over: `toUserId` (a member) becomes an admin, then every other admin
   * a member, so it always has one. One transaction with its audit entry: all of it or none.
   */
  async transfer(actor: User, key: Id | string, toUserId: Id, origin?: string): Promise<void> {
    const conversation = await this.#administeredConversation(actor, key);
    if (conversation.kind === 'direct') throw new DomainError('not_a_group');
    const ref = await this.conversations.refById(conversation.id);
    const at = Date.now();
    const changed = await this.audit.within(
      this.store,
      async (tx) => {
        const members = await tx.members([conversation.id]);
        const heir = members.find((m) => m.user.id === toUserId);
        if (!heir) throw refusal('participant_not_found');
        const changes: { user: Member['user']; role: 'admin' | 'member' }[] = [];
        const changeRole = async (m: Member, role: 'admin' | 'member') => {
          if (await tx.setRole(conversation.id, m.user.id, role, at)) changes.push({ user: m.user, role });
        };
        if (heir.participant.role !== 'admin') await changeRole(heir, 'admin');
        for (const m of members) if (m.participant.role === 'admin' && m.user.id !== toUserId) await changeRole(m, 'member');
        return { heir: heir.user, changes };
      },
      ({ heir }) => ({ tenantId: conversation.tenantId, actorId: actor.id, action: 'conversation.transfer', targetType: 'conversation', targetId: conversation.uuid, origin, details: { to: heir.uuid } }),
    );
    for (const { user, role } of changed.changes) this.events.publish({ type: 'participant.role', conversation: ref, user, role, by: actor.id });
  }

  // ------------------------------------------------------------------ tenant settings

  async settings(actor: User, tenantUuid?: string): Promise<TenantSettings> {
    return this.store.tenantSettings((await this.tenantOf(actor, tenantUuid)).id);
  }

  /**
   * Changes the tenant's settings. A non-empty `allowedOrigins` replaces the process's
   * ALLOWED_ORIGINS for this tenant's users (http/origins.ts): only its pages, and the server's
   * own, may act for them.
   */
  async setSettings(actor: User, changes: Partial<TenantSettings>, tenantUuid?: string, origin?: string): Promise<TenantSettings> {
    const tenant = await this.tenantOf(actor, tenantUuid);
    if (changes.registration != null && !(REGISTRATIONS as readonly string[]).includes(changes.registration)) throw new DomainError('invalid_input');
    if (changes.maxUploadBytes != null && (!Number.isSafeInteger(changes.maxUploadBytes) || changes.maxUploadBytes < 1)) throw new DomainError('invalid_input');
    if (changes.retentionDays != null && (!Number.isInteger(changes.retentionDays) || changes.retentionDays < 1 || changes.retentionDays > 36_500)) throw new DomainError('invalid_input');
    if (changes.allowedOrigins != null && !changes.allowedOrigins.every(validOrigin)) throw new DomainError('invalid_input');
    const entry: AuditEntryInput = { tenantId: tenant.id, actorId: actor.id, action: 'tenant.settings', targetType: 'tenant', targetId: tenant.uuid, origin, details: { ...changes } };
    return this.audit.within(this.store, (tx) => tx.putTenantSettings(tenant.id, changes, Date.now()), () => entry);
  }

}

/** An origin as browsers send it: scheme, host and port only. */
function validOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === origin;
  } catch {
    return false;
  }
}
