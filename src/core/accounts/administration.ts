import type { Presence } from '../../backends/presence/presence.js';
import type { FileStore } from '../../backends/files/file-store.js';
import type { PushSubscription, Store, TenantSettings } from '../../backends/store/store.js';
import { REGISTRATIONS, type Config } from '../../config/config.js';
import type { AuditEntryInput } from '../audit/ports.js';
import type { Conversations } from '../conversations/conversations.js';
import { DomainError, refusal } from '../errors.js';
import type { EventPublisher } from '../events.js';
import type { Messages } from '../messages/messages.js';
import type { Conversation, Id, Millis, Tenant, TenantRole, User } from '../model.js';
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
 * (list, archive, delete, transfer) and tenant settings. Every action is recorded (`audit`).
 */
export class Administration {
  audit: (entry: AuditEntryInput) => Promise<void> = async () => {};

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
    const version = await this.store.eraseProfile(target.id, Date.now());
    if (version === 'last_admin') throw new DomainError('last_admin');
    if (version !== undefined) this.events.publishToUsers([target.id], { type: 'session.revoked', userId: target.id, version });
    await this.audit({ tenantId: target.tenantId, actorId: actor.id, action: 'user.erase', targetType: 'user', targetId: target.uuid, origin, details: { ...erased, files: keys.length } });
    return { ...erased, files: keys.length };
  }

  /** Changes a user's role in their tenant; the tenant keeps an active admin (`last_admin`). */
  async setTenantRole(actor: User, userId: Id, role: TenantRole, origin?: string): Promise<User> {
    const target = await this.accounts.administered(actor, userId);
    const outcome = await this.store.setTenantRole(target.id, role);
    if (outcome === 'last_admin') throw new DomainError('last_admin');
    if (outcome === 'changed') {
      await this.audit({ tenantId: target.tenantId, actorId: actor.id, action: 'user.role', targetType: 'user', targetId: target.uuid, origin, details: { from: target.tenantRole, to: role } });
    }
    return (await this.store.userById(target.id))!;
  }

  /** A new password for the user (generated when none is given), every session of theirs ended. */
  async resetPassword(actor: User, userId: Id, password: string | undefined, origin?: string): Promise<{ user: User; password: string; generated: boolean }> {
    const target = await this.accounts.administered(actor, userId);
    if (target.isBot) throw new DomainError('not_permitted');
    const reset = await this.accounts.resetPassword({ email: target.email, tenantUuid: target.tenantUuid, password });
    await this.audit({ tenantId: target.tenantId, actorId: actor.id, action: 'user.reset_password', targetType: 'user', targetId: target.uuid, origin });
    return reset;
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
    if (!(await this.store.setConversationArchived(conversation.id, at))) throw new DomainError('conversation_not_found');
    await this.audit({ tenantId: conversation.tenantId, actorId: actor.id, action: archived ? 'conversation.archive' : 'conversation.unarchive', targetType: 'conversation', targetId: conversation.uuid, origin });
    return { ...conversation, archivedAt: await this.store.conversationArchivedAt(conversation.id) };
  }

  async deleteConversation(actor: User, key: Id | string, origin?: string): Promise<void> {
    const conversation = await this.#administeredConversation(actor, key);
    const ref = await this.conversations.refById(conversation.id);
    await this.store.deleteConversation(conversation.id, Date.now());
    this.events.publish({ type: 'conversation.deleted', conversation: ref });
    await this.audit({ tenantId: conversation.tenantId, actorId: actor.id, action: 'conversation.delete', targetType: 'conversation', targetId: conversation.uuid, origin });
  }

  /**
   * Hands a conversation over: `toUserId` (a member) becomes an admin, then every other admin
   * a member, so it always has one.
   */
  async transfer(actor: User, key: Id | string, toUserId: Id, origin?: string): Promise<void> {
    const conversation = await this.#administeredConversation(actor, key);
    if (conversation.kind === 'direct') throw new DomainError('not_a_group');
    const members = await this.store.members([conversation.id]);
    const heir = members.find((m) => m.user.id === toUserId);
    if (!heir) throw refusal('participant_not_found');
    const ref = await this.conversations.refById(conversation.id);
    const changeRole = async (userId: Id, role: 'admin' | 'member') => {
      if (await this.store.setRole(conversation.id, userId, role)) {
        const user = members.find((m) => m.user.id === userId)!.user;
        this.events.publish({ type: 'participant.role', conversation: ref, user, role, by: actor.id });
      }
    };
    if (heir.participant.role !== 'admin') await changeRole(toUserId, 'admin');
    for (const m of members) if (m.participant.role === 'admin' && m.user.id !== toUserId) await changeRole(m.user.id, 'member');
    await this.audit({ tenantId: conversation.tenantId, actorId: actor.id, action: 'conversation.transfer', targetType: 'conversation', targetId: conversation.uuid, origin, details: { to: heir.user.uuid } });
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
    const settings = await this.store.putTenantSettings(tenant.id, changes, Date.now());
    await this.audit({ tenantId: tenant.id, actorId: actor.id, action: 'tenant.settings', targetType: 'tenant', targetId: tenant.uuid, origin, details: { ...changes } });
    return settings;
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
