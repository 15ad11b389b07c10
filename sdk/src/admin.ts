import type * as W from './generated/wire.js';
import type { ParleyRest } from './rest.js';

export type AdminUser = W.AdminUserOut;
export type AdminUserDetail = W.AdminUserDetailOut;
export type AdminConversation = W.AdminConversationOut;
export type TenantSettings = W.TenantSettingsOut;
export type TenantSettingsChanges = W.TenantSettingsBody;
export type AdminTenant = W.TenantOut;
/** A page by id: pass `next` as `after` for the following one (null on the last). */
export interface AdminPage {
  after?: number;
  limit?: number;
  /** Operators: another tenant (its uuid). */
  tenant?: string;
}

/**
 * Administration (issue 20), for tenant admins over their tenant and server operators over
 * any (`tenant`). `client.admin` (or `rest.admin`).
 */
export class AdminApi {
  constructor(private readonly rest: Pick<ParleyRest, 'request'>) {}

  tenants(page: Omit<AdminPage, 'tenant'> = {}): Promise<W.TenantPageOut> {
    return this.rest.request('GET', '/admin/tenants', { query: { ...page } });
  }

  users(page: AdminPage & { q?: string } = {}): Promise<W.AdminUserPageOut> {
    return this.rest.request('GET', '/admin/users', { query: { ...page } });
  }

  /** A user with their token version, whether they are online, and their push devices. */
  user(id: number): Promise<AdminUserDetail> {
    return this.rest.request('GET', `/admin/users/${id}`);
  }

  /** Their tokens are revoked and sockets closed at once; no login or API key of theirs works until reactivated. */
  suspend(id: number, reason: string | null = null): Promise<AdminUser> {
    return this.rest.request('POST', `/admin/users/${id}/suspend`, { json: { reason } });
  }

  reactivate(id: number): Promise<AdminUser> {
    return this.rest.request('POST', `/admin/users/${id}/reactivate`);
  }

  /** Deletes the user with erasure: their messages become tombstones (resumes stay gapless), their files and profile go. */
  erase(id: number): Promise<W.ErasureOut> {
    return this.rest.request('DELETE', `/admin/users/${id}`);
  }

  /** A new password (generated when none is given); every session of theirs ends. */
  resetPassword(id: number, password?: string): Promise<W.ResetPasswordOut> {
    return this.rest.request('POST', `/admin/users/${id}/password`, { json: password === undefined ? {} : { password } });
  }

  setRole(id: number, role: 'admin' | 'member'): Promise<AdminUser> {
    return this.rest.request('PUT', `/admin/users/${id}/role`, { json: { role } });
  }

  conversations(page: AdminPage = {}): Promise<W.AdminConversationPageOut> {
    return this.rest.request('GET', '/admin/conversations', { query: { ...page } });
  }

  /** Archived: read-only (sends refused), still readable. */
  archive(conversationId: number, archived = true): Promise<AdminConversation> {
    return this.rest.request('POST', `/admin/conversations/${conversationId}/archive`, { json: { archived } });
  }

  async deleteConversation(conversationId: number): Promise<void> {
    await this.rest.request<void>('DELETE', `/admin/conversations/${conversationId}`);
  }

  /** `userId` (a member) becomes its admin, every other admin a member. */
  async transfer(conversationId: number, userId: number): Promise<void> {
    await this.rest.request<void>('POST', `/admin/conversations/${conversationId}/transfer`, { json: { user_id: userId } });
  }

  settings(tenant?: string): Promise<TenantSettings> {
    return this.rest.request('GET', '/admin/settings', { query: { tenant } });
  }

  setSettings(changes: TenantSettingsChanges, tenant?: string): Promise<TenantSettings> {
    return this.rest.request('PATCH', '/admin/settings', { json: changes, query: { tenant } });
  }
}
