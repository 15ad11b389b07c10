import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DomainError } from '../../core/errors.js';
import { CHAT_POLICY } from '../../core/files/policy.js';
import { ResyncRequired } from '../../core/messages/messages.js';
import { inviteStatus } from '../../core/accounts/invites.js';
import type { ConversationView, Invite, Message, User } from '../../core/model.js';
import { Users } from '../../core/users.js';
import type { DialectContext } from '../dialect.js';
import { checkLoginOrigin, requireUser } from '../shared/auth.js';
import { detailErrorHandler } from '../shared/errors.js';
import { receiveMultipart } from '../shared/multipart.js';
import { isoOrNull } from '../shared/time.js';
import { renderAttachment, renderConversation, renderMessage, renderUser } from './render.js';
import {
  AddParticipantBody,
  ChangesQuery,
  ConversationOut,
  ConversationParams,
  CreateConversationBody,
  EditBody,
  ErrorOut,
  HistoryOut,
  HistoryQuery,
  InviteBody,
  InviteIssuedOut,
  InviteOut,
  InviteParams,
  LoginBody,
  MemberOut,
  MessageOut,
  MessageParams,
  ParticipantParams,
  PasswordBody,
  PresenceBody,
  PresenceOut,
  PresenceQuery,
  ReactionParams,
  ReadBody,
  RegisterBody,
  SendBody,
  SessionOut,
  SetRoleBody,
  UpdateConversationBody,
  UploadOut,
  UserOut,
  UserSearchQuery,
} from './schemas.js';
import { parleyAsyncApi } from './asyncapi.js';
import { parleyRenderer, parleySocketRoute, sendParley } from './socket.js';

const P = '/api/parley';
const tags = ['/api/parley (Parley)'];
const security = [{ bearer: [] }];
const errors = { '4xx': ErrorOut };

/** Parley's own API: every core capability in one coherent shape (docs/parley-api.md). */
export function parleyRoutes(ctx: DialectContext): FastifyPluginAsync {
  const { core } = ctx;
  return async (app0) => {
    const app = app0.withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler(detailErrorHandler({}, { withCode: true }));
    parleySocketRoute(ctx, app);
    const asyncApi = parleyAsyncApi('0.1.0');
    app.get('/docs/asyncapi.json', { schema: { hide: true } }, async () => asyncApi);

    const session = (s: { user: User; accessToken: string }) => ({ token: s.accessToken, token_type: 'bearer' as const, user: renderUser(s.user) });
    // Parley's API hands out no cookie, but a cross-site page still may not log in through it.
    const originCheck = checkLoginOrigin(ctx.config);
    app.post(`${P}/auth/register`, { preHandler: originCheck, schema: { tags, body: RegisterBody, response: { 201: SessionOut, ...errors } } }, async (req, reply) => {
      const { email, password, name, tenant_id, invite } = req.body;
      return reply.code(201).send(session(await core.accounts.register({ email, password, name, tenantUuid: tenant_id, invite })));
    });
    app.post(`${P}/auth/login`, { preHandler: originCheck, schema: { tags, body: LoginBody, response: { 200: SessionOut, ...errors } } }, async (req) => {
      const { email, password, tenant_id } = req.body;
      return session(await core.accounts.login({ email, password, tenantUuid: tenant_id, address: req.ip }));
    });

    await app.register(async (authed0) => {
      const authed = authed0.withTypeProvider<TypeBoxTypeProvider>();
      authed.addHook('onRequest', requireUser(core));

      // A last message's sender who has left the conversation is still named.
      const conversations = async (views: ConversationView[]) => {
        const missing = new Set<number>();
        for (const v of views) {
          const sender = v.lastMessage?.senderId;
          if (sender !== undefined && !v.members.some((m) => m.user.id === sender)) missing.add(sender);
        }
        const senders = missing.size > 0 ? await core.users.summaries([...missing]) : undefined;
        return views.map((v) => renderConversation(ctx, v, senders));
      };
      const conversation = async (v: ConversationView) => (await conversations([v]))[0];

      const messages = async (list: Message[]) => {
        const senders = await core.users.summaries(list.map((m) => m.senderId));
        return list.map((m) => renderMessage(ctx, m, senders.get(m.senderId)));
      };

      // ------------------------------------------------------------ account and people
      authed.get(`${P}/me`, { schema: { tags, security, response: { 200: UserOut, ...errors } } }, async (req) => renderUser(req.user));
      authed.post(`${P}/auth/password`, { schema: { tags, security, body: PasswordBody, response: { 200: SessionOut, ...errors } } }, async (req) =>
        session(await core.accounts.changePassword(req.user, req.body.current_password, req.body.new_password, req.ip)),
      );
      // Invites into the caller's tenant: its admins only.
      const invite = (i: Invite) => ({
        id: i.uuid,
        tenant_id: i.tenantUuid,
        email: i.email,
        status: inviteStatus(i),
        created_at: new Date(i.createdAt).toISOString(),
        expires_at: new Date(i.expiresAt).toISOString(),
        used_at: isoOrNull(i.usedAt),
        used_by: i.usedBy,
        revoked_at: isoOrNull(i.revokedAt),
      });
      authed.post(`${P}/invites`, { schema: { tags, security, body: InviteBody, response: { 201: InviteIssuedOut, ...errors } } }, async (req, reply) => {
        const issued = await core.invites.create(req.user, { ttlSeconds: req.body.ttl_seconds, email: req.body.email });
        return reply.code(201).send({ ...invite(issued.invite), code: issued.code });
      });
      authed.get(`${P}/invites`, { schema: { tags, security, response: { 200: Type.Array(InviteOut), ...errors } } }, async (req) => (await core.invites.list(req.user)).map(invite));
      authed.delete(`${P}/invites/:id`, { schema: { tags, security, params: InviteParams } }, async (req, reply) => {
        await core.invites.revoke(req.user, req.params.id);
        return reply.code(204).send();
      });
      authed.post(`${P}/auth/logout`, { schema: { tags, security } }, async (req, reply) => {
        await core.accounts.logout(req.user);
        return reply.code(204).send();
      });
      authed.get(`${P}/users`, { schema: { tags, security, querystring: UserSearchQuery, response: { 200: Type.Array(UserOut), ...errors } } }, async (req) =>
        (await core.users.search(req.user, req.query.q, req.query.limit ?? 20)).map(renderUser),
      );
      authed.get(`${P}/presence`, { schema: { tags, security, querystring: PresenceQuery, response: { 200: Type.Array(PresenceOut), ...errors } } }, async (req) => {
        const ids = [...new Set(req.query.user_ids.split(',').map(Number))];
        const out = [];
        for (const id of ids) {
          const u = await core.users.resolve(req.user, id);
          const online = core.presence.isOnline(u.id);
          out.push({ user_id: u.id, online, status: online ? core.presence.status(u.id) : ('offline' as const), last_seen: isoOrNull(core.presence.lastSeen(u)) });
        }
        return out;
      });
      authed.put(`${P}/presence`, { schema: { tags, security, body: PresenceBody } }, async (req, reply) => {
        await core.presence.setStatus(req.user, req.body.status);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ conversations
      authed.get(`${P}/conversations`, { schema: { tags, security, response: { 200: Type.Array(ConversationOut), ...errors } } }, async (req) =>
        conversations(await core.conversations.list(req.user)),
      );
      authed.post(`${P}/conversations`, { schema: { tags, security, body: CreateConversationBody, response: { 201: ConversationOut, ...errors } } }, async (req, reply) => {
        const b = req.body;
        if (b.kind === 'direct' && b.user_id === undefined) throw new DomainError('invalid_input', 'A direct conversation needs user_id');
        const view = await core.conversations.create(req.user, {
          kind: b.kind,
          title: b.title ?? null,
          members: b.kind === 'direct' ? [b.user_id!] : (b.member_ids ?? []),
        });
        return reply.code(201).send(await conversation(view));
      });
      authed.get(`${P}/conversations/:id`, { schema: { tags, security, params: ConversationParams, response: { 200: ConversationOut, ...errors } } }, async (req) =>
        conversation(await core.conversations.view(req.user, req.params.id)),
      );
      authed.patch(
        `${P}/conversations/:id`,
        { schema: { tags, security, params: ConversationParams, body: UpdateConversationBody, response: { 200: ConversationOut, ...errors } } },
        async (req) => conversation(await core.conversations.rename(req.user, req.params.id, req.body.title)),
      );
      authed.delete(`${P}/conversations/:id`, { schema: { tags, security, params: ConversationParams } }, async (req, reply) => {
        await core.conversations.remove(req.user, req.params.id);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ participants
      const member = (m: Awaited<ReturnType<typeof core.conversations.participants>>[number]) => ({
        user: renderUser(m.user),
        role: m.participant.role,
        read_seq: m.participant.readSeq,
        delivered_seq: m.participant.deliveredSeq,
        joined_at: new Date(m.participant.joinedAt).toISOString(),
        online: ctx.isOnline(m.user.id),
      });
      authed.get(`${P}/conversations/:id/participants`, { schema: { tags, security, params: ConversationParams, response: { 200: Type.Array(MemberOut), ...errors } } }, async (req) =>
        (await core.conversations.participants(req.user, req.params.id)).map(member),
      );
      authed.post(
        `${P}/conversations/:id/participants`,
        { schema: { tags, security, params: ConversationParams, body: AddParticipantBody, response: { 201: MemberOut, ...errors } } },
        async (req, reply) => reply.code(201).send(member(await core.conversations.addParticipant(req.user, req.params.id, req.body.user_id, req.body.role))),
      );
      authed.patch(
        `${P}/conversations/:id/participants/:user_id`,
        { schema: { tags, security, params: ParticipantParams, body: SetRoleBody, response: { 200: MemberOut, ...errors } } },
        async (req) => member(await core.conversations.setRole(req.user, req.params.id, req.params.user_id, req.body.role)),
      );
      authed.delete(`${P}/conversations/:id/participants/:user_id`, { schema: { tags, security, params: ParticipantParams } }, async (req, reply) => {
        await core.conversations.removeParticipant(req.user, req.params.id, req.params.user_id);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ messages
      authed.get(
        `${P}/conversations/:id/messages`,
        { schema: { tags, security, params: ConversationParams, querystring: HistoryQuery, response: { 200: HistoryOut, ...errors } } },
        async (req) => {
          // A seq range below before_seq: constant time at any depth, no OFFSET.
          const page = await core.messages.before(req.user, req.params.id, req.query.before_seq, req.query.limit ?? 50);
          const list = [...page.messages].reverse();
          return {
            messages: await messages(list),
            has_more: list.length > 0 && list[0].seq > 1,
            last_seq: page.total,
            change_seq: page.changeSeq,
          };
        },
      );
      authed.get(`${P}/conversations/:id/changes`, { schema: { tags, security, params: ConversationParams, querystring: ChangesQuery } }, async (req, reply) => {
        try {
          const r = await core.messages.resume(req.user, req.params.id, { afterSeq: req.query.after_seq, afterChangeSeq: req.query.after_change_seq });
          // The same frames the socket replays, in the same order.
          const renderer = parleyRenderer(ctx);
          const conn = { user: req.user } as never;
          return { frames: r.events.map((e) => JSON.parse(renderer.frame(e, conn))) };
        } catch (e) {
          if (!(e instanceof ResyncRequired)) throw e;
          return reply.code(409).send({ detail: 'Too much was missed: reload the conversation', code: 'snapshot_required', missed: e.missed });
        }
      });
      authed.post(
        `${P}/conversations/:id/messages`,
        { schema: { tags, security, params: ConversationParams, body: SendBody, response: { 201: MessageOut, ...errors } } },
        async (req, reply) => {
          const r = await sendParley(ctx, req.user, { ...req.body, conversation_id: req.params.id });
          return reply.code(r.created ? 201 : 200).send(renderMessage(ctx, r.message, Users.summaryOf(req.user), r.message.clientId));
        },
      );
      authed.get(`${P}/messages/:id`, { schema: { tags, security, params: MessageParams, response: { 200: MessageOut, ...errors } } }, async (req) => {
        const { message } = await core.messages.get(req.user, req.params.id);
        return (await messages([message]))[0];
      });
      authed.patch(`${P}/messages/:id`, { schema: { tags, security, params: MessageParams, body: EditBody, response: { 200: MessageOut, ...errors } } }, async (req) =>
        (await messages([await core.messages.edit(req.user, req.params.id, req.body.content)]))[0],
      );
      authed.delete(`${P}/messages/:id`, { schema: { tags, security, params: MessageParams, response: { 200: MessageOut, ...errors } } }, async (req) =>
        (await messages([await core.messages.delete(req.user, req.params.id)]))[0],
      );
      authed.put(`${P}/messages/:id/reactions/:emoji`, { schema: { tags, security, params: ReactionParams, response: { 200: MessageOut, ...errors } } }, async (req) =>
        (await messages([await core.messages.react(req.user, req.params.id, req.params.emoji, true)]))[0],
      );
      authed.delete(`${P}/messages/:id/reactions/:emoji`, { schema: { tags, security, params: ReactionParams, response: { 200: MessageOut, ...errors } } }, async (req) =>
        (await messages([await core.messages.react(req.user, req.params.id, req.params.emoji, false)]))[0],
      );
      authed.post(
        `${P}/conversations/:id/read`,
        { schema: { tags, security, params: ConversationParams, body: Type.Optional(ReadBody), response: { 200: Type.Object({ read_seq: Type.Integer() }), ...errors } } },
        async (req) => ({ read_seq: await core.conversations.markRead(req.user, req.params.id, req.body?.seq) }),
      );

      // ------------------------------------------------------------ files
      authed.post(`${P}/files`, { schema: { tags, security, consumes: ['multipart/form-data'], response: { 201: UploadOut, ...errors } } }, async (req, reply) => {
        const { files } = await receiveMultipart(req, core, CHAT_POLICY);
        if (files.length === 0) throw new DomainError('invalid_input', 'No file: send multipart/form-data with one or more `file` parts');
        const stored = await core.files.upload(req.user, files, null, CHAT_POLICY);
        return reply.code(201).send({ files: stored.map((a) => ({ ...renderAttachment(ctx, a), key: a.storedPath })) });
      });
    });
  };
}
