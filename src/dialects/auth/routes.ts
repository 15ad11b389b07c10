import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Config } from '../../config/config.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Core } from '../../core/core.js';
import type { Session } from '../../core/accounts/accounts.js';
import { renderInvite } from '../shared/invites.js';
import type { User } from '../../core/model.js';
import { checkLoginOrigin, loginOriginTrusted, requireUser, userKey } from '../shared/auth.js';
import { isDomainError } from '../../core/errors.js';
import { detailErrorHandler, errorText } from '../shared/errors.js';
import { isoOrNull } from '../shared/time.js';
import { TAGS, TEXTS, errorsShown, example, operation, shown } from '../../http/api-docs.js';
import { INVITE, JANE, JOHN, TENANT_ID, TOKEN } from '../shared/examples.js';
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
import { auditOrigin } from '../shared/audit-origin.js';

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


// Examples for /docs (the accounts contract of DESIGN.md).
const USER_EXAMPLE = { ...JOHN, tenant_id: TENANT_ID };
const SESSION_EXAMPLE = { access_token: TOKEN, token_type: 'bearer', user: USER_EXAMPLE };
const INVITE_EXAMPLE = INVITE;
const FRIEND_EXAMPLE = JANE;
const Errors = (...details: { detail: string }[]) => ({ '4xx': example(Detail, 'Refused: the reason in `detail`.', ...(details.length ? details : [TEXTS.notAuthenticated])) });

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
    const docs = (id: string, summary: string, description: string, responses?: Record<string, object>) =>
      operation({ tag: TAGS.accounts, id, summary, description, responses });
    const friendDocs = (id: string, summary: string, description: string, responses: Record<string, object>) =>
      operation({ tag: TAGS.friends, id, summary, description, responses: { ...responses, ...errorsShown() } });

    const originCheck = checkLoginOrigin(core, config);
    const session = (s: Session) => ({ access_token: s.accessToken, token_type: 'bearer' as const, user: renderUser(s.user) });

    app.post(
      '/api/auth/register',
      {
        preHandler: originCheck,
        schema: {
          ...docs(
            'authRegister',
            'Create an account',
            'Registers a user and signs them in: the answer carries the bearer token for every API. Without tenant_id the user joins the default ' +
              'tenant; a new tenant_id creates that tenant (its first user is its admin); an existing one needs an invite (REGISTRATION decides).',
          ),
          body: example(RegisterBody, 'The new account', { email: 'john@example.com', password: 'correct horse battery', name: 'John Doe' }, { email: 'jane@example.com', password: 'correct horse battery', name: 'Jane Smith', invite: 'inv_7Qk…' }),
          response: { 201: example(SessionOut, 'Registered and signed in', SESSION_EXAMPLE), ...Errors({ detail: 'Email already registered' }) },
        },
      },
      async (req, reply) => {
        const { email, password, name, tenant_id, invite } = req.body;
        const s = await core.accounts.register({ email, password, name, tenantUuid: tenant_id, invite });
        setTokenCookie(config, req, reply, s.accessToken);
        return reply.code(201).send(session(s));
      },
    );

    const loginSchema = {
      ...docs('authLogin', 'Sign in', 'Exchanges an e-mail and password for a bearer token (the same shape as register). tenant_id picks the tenant when the e-mail exists in several.'),
      body: example(LoginBody, 'Credentials', { email: 'john@example.com', password: 'correct horse battery' }),
      response: { 200: example(SessionOut, 'Signed in', SESSION_EXAMPLE), ...Errors({ detail: 'Incorrect email or password' }) },
    };
    app.post('/api/auth/login', { preHandler: originCheck, schema: loginSchema }, async (req, reply) => {
      const { email, password, tenant_id } = req.body;
      const s = await core.accounts.login({ email, password, tenantUuid: tenant_id, address: req.ip });
      setTokenCookie(config, req, reply, s.accessToken);
      return session(s);
    });

    app.register(async (authed0) => {
      const authed = authed0.withTypeProvider<TypeBoxTypeProvider>();
      // onRequest: an anonymous caller gets 401 before its body is validated (as every dialect's signed-in routes).
      authed.addHook('onRequest', requireUser(core, config));
      const security = [{ bearer: [] }];

      authed.get(
        '/api/auth/me',
        { schema: { ...docs('authGetMe', 'Who am I', `The signed-in user. ${TEXTS.bearer}`), security, response: { 200: example(UserOut, 'The user of the token', USER_EXAMPLE), ...Errors() } } },
        async (req) => renderUser(req.user),
      );

      authed.post(
        '/api/auth/password',
        {
          schema: {
            ...docs('authChangePassword', 'Change my password', 'Checks the current password, sets the new one, signs out every other session (their tokens stop working) and returns a fresh token.'),
            security,
            body: example(PasswordBody, 'The current and the new password', { current_password: 'correct horse battery', new_password: 'a longer passphrase' }),
            response: { 200: example(SessionOut, 'A fresh session', SESSION_EXAMPLE), ...Errors({ detail: 'Current password is incorrect' }) },
          },
        },
        async (req, reply) => {
          const s = await core.accounts.changePassword(req.user, req.body.current_password, req.body.new_password, req.ip);
          setTokenCookie(config, req, reply, s.accessToken);
          return session(s);
        },
      );

      // Invites into the caller's tenant; its admins only.
      const inviteSchema = {
        ...docs('authCreateInvite', 'Invite someone into my tenant', "Tenant admins only. The code is shown once: the invitee registers with {\"invite\": code}. With email, only that address may use it."),
        security,
        body: example(InviteBody, 'How long it lasts, and for whom', { ttl_seconds: 604800, email: 'jane@example.com' }),
        response: { 201: example(InviteIssuedOut, 'The invite, with its code', { ...INVITE_EXAMPLE, code: 'inv_7Qk…' }), ...Errors({ detail: 'You do not have permission to perform this action' }) },
      };
      authed.post('/api/auth/invites', { schema: inviteSchema }, async (req, reply) => {
        const { invite, code } = await core.invites.create(req.user, { ttlSeconds: req.body.ttl_seconds, email: req.body.email }, auditOrigin(req));
        return reply.code(201).send({ ...renderInvite(invite), code });
      });
      const invitesSchema = {
        ...docs('authListInvites', "List my tenant's invites", 'Tenant admins only: every invite with its status (active, used, revoked, expired); codes are never shown again.'),
        security,
        response: { 200: example(Type.Object({ invites: Type.Array(InviteOut), total: Type.Integer() }), 'The invites', { invites: [INVITE_EXAMPLE], total: 1 }), ...Errors() },
      };
      authed.get('/api/auth/invites', { schema: invitesSchema }, async (req) => {
        const invites = (await core.invites.list(req.user)).map(renderInvite);
        return { invites, total: invites.length };
      });
      const revokeSchema = {
        ...docs('authRevokeInvite', 'Revoke an invite', 'Tenant admins only: the code stops working; the invite is kept, as revoked.'),
        security,
        params: InviteParams,
        response: { 200: example(InviteOut, 'The invite, revoked', { ...INVITE_EXAMPLE, status: 'revoked', revoked_at: '2024-01-02T09:00:00.000Z' }), ...Errors({ detail: 'Invite not found' }) },
      };
      authed.delete('/api/auth/invites/:id', { schema: revokeSchema }, async (req) =>
        renderInvite(await core.invites.revoke(req.user, req.params.id, auditOrigin(req))),
      );

      const logoutDocs = docs('authLogout', 'Sign out everywhere', "Revokes the user's tokens (every device) and closes the user's sockets.", {
        200: shown('Signed out', { status: 'success', message: 'Logged out' }),
        ...errorsShown(),
      });
      authed.post('/api/auth/logout', { schema: { ...logoutDocs, security } }, async (req, reply) => {
        await core.accounts.logout(req.user);
        if (config.authCookie) reply.clearCookie(config.authCookie, { path: '/' });
        return { status: 'success', message: 'Logged out' };
      });

      const requestDocs = friendDocs(
        'friendsRequest',
        'Ask someone to be my friend',
        'Sends a friend request (user_id: the integer id or the uuid). Accepted at once when the other side had already asked. Direct messages of document 004 need an accepted friendship.',
        { 200: shown('The friendship now', { status: 'pending' }, { status: 'accepted' }) },
      );
      authed.post('/api/friends', { schema: { ...requestDocs, security, body: example(FriendBody, 'Who', { user_id: 2 }, { user_id: FRIEND_EXAMPLE.uuid }) } }, async (req) => {
        return { status: await core.friends.request(req.user, userKey(req.body.user_id)) };
      });

      const friendsDocs = friendDocs('friendsList', 'List my friends and requests', 'Accepted friends (with presence) and pending requests either way (direction: incoming or outgoing).', {
        200: shown('Friends and requests', { friends: [{ ...FRIEND_EXAMPLE, is_online: true, status: 'accepted', direction: null, since: '2024-01-01T12:00:00.000Z' }], total: 1 }),
      });
      authed.get('/api/friends', { schema: { ...friendsDocs, security } }, async (req) => {
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

      const removeDocs = friendDocs('friendsRemove', 'Unfriend, or withdraw a request', 'Ends the friendship (or the pending request) with user_id (id or uuid).', { 200: shown('Removed', { status: 'removed' }) });
      authed.delete('/api/friends/:user_id', { schema: { ...removeDocs, security, params: FriendParams } }, async (req) => {
        await core.friends.remove(req.user, userKey(req.params.user_id));
        return { status: 'removed' };
      });

      // Blocking (Parley's addition to the accounts contract): no direct messages either way,
      // no adding the blocker to groups or channels, the friendship ends. Ids as in /api/friends.
      const blocksDocs = friendDocs('friendsListBlocks', 'List whom I blocked', 'The users I blocked, and since when.', {
        200: shown('Blocked users', { blocked: [{ ...FRIEND_EXAMPLE, since: '2024-01-01T12:00:00.000Z' }], total: 1 }),
      });
      authed.get('/api/friends/blocks', { schema: { ...blocksDocs, security } }, async (req) => {
        const blocked = await core.friends.blocked(req.user);
        return {
          blocked: blocked.map((b) => ({ id: b.user.id, uuid: b.user.uuid, name: b.user.name, email: b.user.email, avatar_url: b.user.avatarUrl, since: isoOrNull(b.since) })),
          total: blocked.length,
        };
      });

      const blockDocs = friendDocs('friendsBlock', 'Block someone', 'No direct messages either way in any API, no adding me to groups or channels; a friendship ends.', { 200: shown('Blocked', { status: 'blocked' }) });
      authed.post('/api/friends/:user_id/block', { schema: { ...blockDocs, security, params: FriendParams } }, async (req) => {
        await core.friends.block(req.user, userKey(req.params.user_id));
        return { status: 'blocked' };
      });

      const unblockDocs = friendDocs('friendsUnblock', 'Unblock someone', 'Lifts the block (a friendship it ended is not restored).', { 200: shown('Unblocked', { status: 'unblocked' }) });
      authed.delete('/api/friends/:user_id/block', { schema: { ...unblockDocs, security, params: FriendParams } }, async (req) => {
        await core.friends.unblock(req.user, userKey(req.params.user_id));
        return { status: 'unblocked' };
      });
    });
  };
}
