import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Config } from '../../config/config.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Core } from '../../core/core.js';
import type { Session } from '../../core/accounts/accounts.js';
import { inviteStatus } from '../../core/accounts/invites.js';
import type { Invite, User } from '../../core/model.js';
import { checkLoginOrigin, loginOriginTrusted, requireUser, userKey } from '../shared/auth.js';
import { isDomainError } from '../../core/errors.js';
import { detailErrorHandler, errorText } from '../shared/errors.js';
import { iso, isoOrNull } from '../shared/time.js';
import {
  Detail,
  FriendBody,
  FriendParams,
  InviteBody,
  InviteIssuedOut,
  InviteOut,
  InviteParams,
  LoginBody,
  PasswordBody,
  RegisterBody,
  SessionOut,
  UserOut,
} from './schemas.js';

export const renderUser = (u: User) => ({
  id: u.id,
  uuid: u.uuid,
  name: u.name,
  email: u.email,
  avatar_url: u.avatarUrl,
  tenant_id: u.tenantUuid,
});

/**
 * Hands the token out in the AUTH_COOKIE cookie too, for a page whose socket sends none
 * (document 003's React client). HttpOnly: page scripts never read it; only socket
 * handshakes from trusted origins take it (shared/auth.ts cookieToken), never REST.
 * SameSite=Strict: no other site's page makes the browser send it; and it is only set for a
 * request from a page this server trusts (checkLoginOrigin), so a cross-site form cannot log
 * the visitor's browser into someone else's account (login CSRF).
 */
function setTokenCookie(config: Config, req: FastifyRequest, reply: FastifyReply, token: string): void {
  if (!config.authCookie || !loginOriginTrusted(config, req)) return;
  reply.setCookie(config.authCookie, token, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: config.publicUrl.startsWith('https:'),
    maxAge: config.jwtTtlSeconds,
  });
}

export const renderInvite = (i: Invite) => ({
  id: i.uuid,
  tenant_id: i.tenantUuid,
  email: i.email,
  status: inviteStatus(i),
  created_at: iso(i.createdAt),
  expires_at: iso(i.expiresAt),
  used_at: isoOrNull(i.usedAt),
  used_by: i.usedBy,
  revoked_at: isoOrNull(i.revokedAt),
});

/** The fixed accounts contract of DESIGN.md: /api/auth/* and /api/friends. */
export function authRoutes(core: Core, config: Config): FastifyPluginAsync {
  return async (app0) => {
    const app = app0.withTypeProvider<TypeBoxTypeProvider>();
    // Bad input is 422 on this contract (DESIGN.md), including what only the core can judge
    // (an email without @, a blank name); the other 4xx keep their kind's status.
    const detail = detailErrorHandler();
    app.setErrorHandler((err: Error, req, reply) =>
      isDomainError(err) && err.code === 'invalid_input' ? reply.code(422).send({ detail: errorText(err) }) : detail(err, req, reply),
    );
    const tags = ['accounts'];

    const originCheck = checkLoginOrigin(config);
    const session = (s: Session) => ({ access_token: s.accessToken, token_type: 'bearer' as const, user: renderUser(s.user) });

    app.post(
      '/api/auth/register',
      { preHandler: originCheck, schema: { tags, body: RegisterBody, response: { 201: SessionOut, '4xx': Detail } } },
      async (req, reply) => {
        const { email, password, name, tenant_id, invite } = req.body;
        const s = await core.accounts.register({ email, password, name, tenantUuid: tenant_id, invite });
        setTokenCookie(config, req, reply, s.accessToken);
        return reply.code(201).send(session(s));
      },
    );

    app.post('/api/auth/login', { preHandler: originCheck, schema: { tags, body: LoginBody, response: { 200: SessionOut, '4xx': Detail } } }, async (req, reply) => {
      const { email, password, tenant_id } = req.body;
      const s = await core.accounts.login({ email, password, tenantUuid: tenant_id, address: req.ip });
      setTokenCookie(config, req, reply, s.accessToken);
      return session(s);
    });

    app.register(async (authed0) => {
      const authed = authed0.withTypeProvider<TypeBoxTypeProvider>();
      authed.addHook('preHandler', requireUser(core));
      const security = [{ bearer: [] }];

      authed.get('/api/auth/me', { schema: { tags, security, response: { 200: UserOut, '4xx': Detail } } }, async (req) => renderUser(req.user));

      authed.post(
        '/api/auth/password',
        { schema: { tags, security, body: PasswordBody, response: { 200: SessionOut, '4xx': Detail } } },
        async (req, reply) => {
          const s = await core.accounts.changePassword(req.user, req.body.current_password, req.body.new_password, req.ip);
          setTokenCookie(config, req, reply, s.accessToken);
          return session(s);
        },
      );

      // Invites into the caller's tenant; its admins only.
      authed.post('/api/auth/invites', { schema: { tags, security, body: InviteBody, response: { 201: InviteIssuedOut, '4xx': Detail } } }, async (req, reply) => {
        const { invite, code } = await core.invites.create(req.user, { ttlSeconds: req.body.ttl_seconds, email: req.body.email });
        return reply.code(201).send({ ...renderInvite(invite), code });
      });
      authed.get('/api/auth/invites', { schema: { tags, security, response: { 200: Type.Object({ invites: Type.Array(InviteOut), total: Type.Integer() }), '4xx': Detail } } }, async (req) => {
        const invites = (await core.invites.list(req.user)).map(renderInvite);
        return { invites, total: invites.length };
      });
      authed.delete('/api/auth/invites/:id', { schema: { tags, security, params: InviteParams, response: { 200: InviteOut, '4xx': Detail } } }, async (req) =>
        renderInvite(await core.invites.revoke(req.user, req.params.id)),
      );

      authed.post('/api/auth/logout', { schema: { tags, security } }, async (req, reply) => {
        await core.accounts.logout(req.user);
        if (config.authCookie) reply.clearCookie(config.authCookie, { path: '/' });
        return { status: 'success', message: 'Logged out' };
      });

      authed.post('/api/friends', { schema: { tags: ['friends'], security, body: FriendBody } }, async (req) => {
        return { status: await core.friends.request(req.user, userKey(req.body.user_id)) };
      });

      authed.get('/api/friends', { schema: { tags: ['friends'], security } }, async (req) => {
        const friends = await core.friends.list(req.user);
        // A pending request shows no presence: only accepted friends (and partners) are visible.
        const seen = await core.presence.view(req.user, friends.map((f) => f.user.id));
        return {
          friends: friends.map((f) => ({
            id: f.user.id,
            uuid: f.user.uuid,
            name: f.user.name,
            email: f.user.email,
            avatar_url: f.user.avatarUrl,
            is_online: seen.isOnline(f.user.id),
            status: f.status,
            direction: f.status === 'pending' ? (f.incoming ? 'incoming' : 'outgoing') : null,
            since: isoOrNull(f.since),
          })),
          total: friends.length,
        };
      });

      authed.delete('/api/friends/:user_id', { schema: { tags: ['friends'], security, params: FriendParams } }, async (req) => {
        await core.friends.remove(req.user, userKey(req.params.user_id));
        return { status: 'removed' };
      });

      // Blocking (Parley's addition to the accounts contract): no direct messages either way,
      // no adding the blocker to groups or channels, the friendship ends. Ids as in /api/friends.
      authed.get('/api/friends/blocks', { schema: { tags: ['friends'], security } }, async (req) => {
        const blocked = await core.friends.blocked(req.user);
        return {
          blocked: blocked.map((b) => ({ id: b.user.id, uuid: b.user.uuid, name: b.user.name, email: b.user.email, avatar_url: b.user.avatarUrl, since: isoOrNull(b.since) })),
          total: blocked.length,
        };
      });

      authed.post('/api/friends/:user_id/block', { schema: { tags: ['friends'], security, params: FriendParams } }, async (req) => {
        await core.friends.block(req.user, userKey(req.params.user_id));
        return { status: 'blocked' };
      });

      authed.delete('/api/friends/:user_id/block', { schema: { tags: ['friends'], security, params: FriendParams } }, async (req) => {
        await core.friends.unblock(req.user, userKey(req.params.user_id));
        return { status: 'unblocked' };
      });
    });
  };
}
