import type { FastifyRequest } from 'fastify';
import type { AdminConversation } from '../../core/accounts/administration.js';
import type { TenantSettings } from '../../backends/store/store.js';
import type { Tenant, User } from '../../core/model.js';
import { Users } from '../../core/users.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { iso, isoOrNull } from '../shared/time.js';
import { renderUser } from './render.js';
import { docs, errors, none } from './routes.js';
import {
  AdminConversationOut,
  AdminConversationPageOut,
  AdminPageQuery,
  AdminUserDetailOut,
  AdminUserOut,
  AdminUserPageOut,
  AdminUsersQuery,
  ArchiveBody,
  ConversationParams,
  ErasureOut,
  ResetPasswordBody,
  ResetPasswordOut,
  SuspendBody,
  TenantPageOut,
  TenantQuery,
  TenantRoleBody,
  TenantSettingsBody,
  TenantSettingsOut,
  TransferBody,
  UserParams,
} from './schemas.js';
import { example } from '../../http/api-docs.js';


const EXAMPLE_ADMIN_USER = {
  id: 2,
  uuid: '0192f7a2-0b07-7000-8000-000000000002',
  name: 'Bob',
  email: 'bob@example.com',
  avatar_url: null,
  is_bot: false,
  tenant_id: '00000000-0000-7000-8000-000000000001',
  tenant_role: 'member' as const,
  is_operator: false,
  suspended_at: null,
  created_at: '2024-01-01T12:00:00.000Z',
  last_seen_at: '2024-01-02T08:00:00.000Z',
};
const EXAMPLE_CONVERSATION = { id: 7, uuid: '0192f7a2-0c00-7000-8000-000000000007', kind: 'group', title: 'Team', member_count: 3, last_seq: 42, created_at: '2024-01-01T12:00:00.000Z', archived_at: null };
const EXAMPLE_SETTINGS = { registration: 'invite' as const, max_upload_bytes: 10_485_760, retention_days: 365, allowed_origins: ['https://chat.example.com'] };

export const renderAdminUser = (u: User) => ({
  ...renderUser(Users.summaryOf(u)),
  tenant_id: u.tenantUuid,
  tenant_role: u.tenantRole,
  is_operator: u.isOperator,
  suspended_at: isoOrNull(u.suspendedAt),
  created_at: iso(u.createdAt),
  last_seen_at: isoOrNull(u.lastSeenAt),
});
const renderTenant = (t: Tenant) => ({ id: t.uuid, name: t.name, created_at: iso(t.createdAt) });
const renderConversation = (c: AdminConversation) => ({
  id: c.id,
  uuid: c.uuid,
  kind: c.kind,
  title: c.title,
  member_count: c.memberCount,
  last_seq: c.lastSeq,
  created_at: iso(c.createdAt),
  archived_at: isoOrNull(c.archivedAt),
});
const renderSettings = (s: TenantSettings) => ({
  registration: s.registration as (typeof EXAMPLE_SETTINGS)['registration'] | null,
  max_upload_bytes: s.maxUploadBytes,
  retention_days: s.retentionDays,
  allowed_origins: s.allowedOrigins,
});
/** Where an action came from, as the audit log keeps it. */
const originOf = (req: FastifyRequest) => `api ${req.ip}`;

/** Administration (issue 20): tenant admins over their tenant, operators over every tenant. */
export function adminRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  const admin = core.admin;

  authed.get('/admin/tenants', { schema: {
    ...docs('adminListTenants', 'List tenants', 'Server operators only: every tenant, by id, a page at a time.'),
    querystring: AdminPageQuery,
    response: { 200: example(TenantPageOut, 'A page of tenants', { tenants: [{ id: EXAMPLE_ADMIN_USER.tenant_id, name: 'default', created_at: '2024-01-01T12:00:00.000Z' }], next: null }), ...errors },
  } }, async (req) => {
    const page = await admin.tenants(req.user, req.query);
    return { tenants: page.tenants.map(renderTenant), next: page.next };
  });

  authed.get('/admin/users', { schema: {
    ...docs('adminListUsers', 'List or search users', "Tenant admins (their tenant) and operators (any, with `tenant`): users by id, a page at a time; `q` searches e-mail and name."),
    querystring: AdminUsersQuery,
    response: { 200: example(AdminUserPageOut, 'A page of users', { users: [EXAMPLE_ADMIN_USER], next: null }), ...errors },
  } }, async (req) => {
    const page = await admin.users(req.user, { tenantUuid: req.query.tenant, after: req.query.after, limit: req.query.limit, query: req.query.q });
    return { users: page.users.map(renderAdminUser), next: page.next };
  });

  authed.get('/admin/users/:id', { schema: {
    ...docs('adminGetUser', 'View a user with their sessions and devices', 'The token version (older tokens are refused), whether a socket of theirs is open, and their push devices.'),
    params: UserParams,
    response: { 200: example(AdminUserDetailOut, 'The user', { user: EXAMPLE_ADMIN_USER, sessions: { token_version: 3, online: true, last_seen_at: '2024-01-02T08:00:00.000Z', devices: [{ id: 1, kind: 'web', device_id: 'laptop' }] } }), ...errors },
  } }, async (req) => {
    const { user, sessions } = await admin.user(req.user, req.params.id);
    return {
      user: renderAdminUser(user),
      sessions: { token_version: sessions.tokenVersion, online: sessions.online, last_seen_at: isoOrNull(sessions.lastSeenAt), devices: sessions.devices.map((d) => ({ id: d.id, kind: d.kind, device_id: d.deviceId })) },
    };
  });

  authed.post('/admin/users/:id/suspend', { schema: {
    ...docs('adminSuspendUser', 'Suspend a user', 'Revokes every token and closes their sockets at once on every server process; they cannot log in, and the API keys they created stop working, until reactivated.'),
    params: UserParams,
    body: example(SuspendBody, 'Why', { reason: 'spam' }),
    response: { 200: example(AdminUserOut, 'The user, suspended', { ...EXAMPLE_ADMIN_USER, suspended_at: '2024-01-03T09:00:00.000Z' }), ...errors },
  } }, async (req) => renderAdminUser(await core.accounts.suspend(req.user, req.params.id, req.body.reason ?? null, originOf(req))));

  authed.post('/admin/users/:id/reactivate', { schema: {
    ...docs('adminReactivateUser', 'Reactivate a suspended user', 'They may log in again; the tokens the suspension revoked stay revoked.'),
    params: UserParams,
    response: { 200: example(AdminUserOut, 'The user', EXAMPLE_ADMIN_USER), ...errors },
  } }, async (req) => renderAdminUser(await core.accounts.reactivate(req.user, req.params.id, originOf(req))));

  authed.delete('/admin/users/:id', { schema: {
    ...docs('adminEraseUser', 'Delete a user with erasure', "Suspends them, turns every message of theirs into a tombstone (seqs stay gapless: resumes replay the deletions), removes their reactions, files and profile (shown as 'Deleted user'; the e-mail is free again)."),
    params: UserParams,
    response: { 200: example(ErasureOut, 'What was erased', { messages: 120, reactions: 8, files: 3 }), ...errors },
  } }, async (req) => admin.erase(req.user, req.params.id, originOf(req)));

  authed.post('/admin/users/:id/password', { schema: {
    ...docs('adminResetPassword', "Reset a user's password", 'A new password (generated when none is given, shown once); every session of theirs ends.'),
    params: UserParams,
    body: example(ResetPasswordBody, 'Generate one', {}),
    response: { 200: example(ResetPasswordOut, 'The new password', { user: EXAMPLE_ADMIN_USER, password: 'b3Jk…', generated: true }), ...errors },
  } }, async (req) => {
    const r = await admin.resetPassword(req.user, req.params.id, req.body.password, originOf(req));
    return { user: renderAdminUser(r.user), password: r.password, generated: r.generated };
  });

  authed.put('/admin/users/:id/role', { schema: {
    ...docs('adminSetTenantRole', "Change a user's tenant role", 'admin or member; a tenant always keeps an active admin (last_admin).'),
    params: UserParams,
    body: example(TenantRoleBody, 'Make an admin', { role: 'admin' }),
    response: { 200: example(AdminUserOut, 'The user', { ...EXAMPLE_ADMIN_USER, tenant_role: 'admin' }), ...errors },
  } }, async (req) => renderAdminUser(await admin.setTenantRole(req.user, req.params.id, req.body.role, originOf(req))));

  authed.get('/admin/conversations', { schema: {
    ...docs('adminListConversations', "List the tenant's conversations", 'Every live conversation by id, a page at a time, with its archiving.'),
    querystring: AdminPageQuery,
    response: { 200: example(AdminConversationPageOut, 'A page', { conversations: [EXAMPLE_CONVERSATION], next: null }), ...errors },
  } }, async (req) => {
    const page = await admin.conversationsOf(req.user, { tenantUuid: req.query.tenant, after: req.query.after, limit: req.query.limit });
    return { conversations: page.conversations.map(renderConversation), next: page.next };
  });

  authed.post('/admin/conversations/:id/archive', { schema: {
    ...docs('adminArchiveConversation', 'Archive or unarchive a conversation', 'An archived conversation is read-only: its history stays readable, sends are refused (conversation_archived).'),
    params: ConversationParams,
    body: example(ArchiveBody, 'Archive it', { archived: true }),
    response: { 200: example(AdminConversationOut, 'The conversation', { ...EXAMPLE_CONVERSATION, archived_at: '2024-01-03T09:00:00.000Z' }), ...errors },
  } }, async (req) => renderConversation(await admin.archive(req.user, req.params.id, req.body.archived, originOf(req))));

  authed.delete('/admin/conversations/:id', { schema: {
    ...docs('adminDeleteConversation', 'Delete a conversation', 'For every member; its files are removed by the sweep.', { ...none('Deleted'), ...errors }),
    params: ConversationParams,
  } }, async (req, reply) => {
    await admin.deleteConversation(req.user, req.params.id, originOf(req));
    return reply.code(204).send();
  });

  authed.post('/admin/conversations/:id/transfer', { schema: {
    ...docs('adminTransferConversation', 'Transfer ownership of a conversation', 'The member named becomes an admin, then every other admin a member: it always keeps one.', { ...none('Transferred'), ...errors }),
    params: ConversationParams,
    body: example(TransferBody, 'To whom', { user_id: 3 }),
  } }, async (req, reply) => {
    await admin.transfer(req.user, req.params.id, req.body.user_id, originOf(req));
    return reply.code(204).send();
  });

  authed.get('/admin/settings', { schema: {
    ...docs('adminGetSettings', "The tenant's settings", 'null: the server\'s configuration applies.'),
    querystring: TenantQuery,
    response: { 200: example(TenantSettingsOut, 'The settings', EXAMPLE_SETTINGS), ...errors },
  } }, async (req) => renderSettings(await admin.settings(req.user, req.query.tenant)));

  authed.patch('/admin/settings', { schema: {
    ...docs('adminSetSettings', "Change the tenant's settings", 'Only the fields given change; null clears one. A non-empty allowed_origins is the only list of pages (besides the server\'s own) that may act for this tenant\'s users, in place of the server\'s ALLOWED_ORIGINS: a browser request or socket from another page is refused with 403.'),
    querystring: TenantQuery,
    body: example(TenantSettingsBody, 'Keep a year', { retention_days: 365 }),
    response: { 200: example(TenantSettingsOut, 'The settings', EXAMPLE_SETTINGS), ...errors },
  } }, async (req) => {
    const b = req.body;
    const changes = { registration: b.registration, maxUploadBytes: b.max_upload_bytes, retentionDays: b.retention_days, allowedOrigins: b.allowed_origins };
    return renderSettings(await admin.setSettings(req.user, changes, req.query.tenant, originOf(req)));
  });
}
