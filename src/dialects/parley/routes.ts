import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DomainError } from '../../core/errors.js';
import { CHAT_POLICY } from '../../core/files/policy.js';
import { ResyncRequired } from '../../core/messages/messages.js';
import type { ChangeCursor } from '../../core/messages/catch-up.js';
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
  BlockOut,
  BlockParams,
  ChangesOut,
  ChangesQuery,
  ConversationListQuery,
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
import { socketsAsyncApi } from '../asyncapi.js';
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
    // Every dialect's socket (dialects/asyncapi.ts), served beside /docs.
    const asyncApi = socketsAsyncApi('0.1.0');
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

      // A last message's sender who has left the conversation is still named (ConversationView.people);
      // members' `online` as the core lets the caller see them.
      const conversations = async (user: User, views: ConversationView[]) => {
        const seen = await core.presence.view(user, views.flatMap((v) => v.members.map((m) => m.user.id)));
        const shown = { fileUrl: ctx.fileUrl, isOnline: seen.isOnline };
        return views.map((v) => renderConversation(shown, v));
      };
      const conversation = async (user: User, v: ConversationView) => (await conversations(user, [v]))[0];

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
        // One entry per id asked (404 for anyone not of the caller's tenant). Someone whose
        // presence the caller may not see (the core's rule) is offline with no last seen.
        const ids = [...new Set(req.query.user_ids.split(',').map(Number))];
        const users = [];
        for (const id of ids) users.push(await core.users.resolve(req.user, id));
        const seen = await core.presence.view(req.user, ids);
        return users.map((u) => {
          const online = seen.isOnline(u.id);
          return { user_id: u.id, online, status: online ? seen.status(u.id) : ('offline' as const), last_seen: isoOrNull(seen.lastSeen(u)) };
        });
      });
      authed.put(`${P}/presence`, { schema: { tags, security, body: PresenceBody } }, async (req, reply) => {
        await core.presence.setStatus(req.user, req.body.status);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ blocks
      authed.get(`${P}/blocks`, { schema: { tags, security, response: { 200: Type.Array(BlockOut), ...errors } } }, async (req) =>
        (await core.friends.blocked(req.user)).map((b) => ({ user: renderUser(b.user), blocked_at: new Date(b.since).toISOString() })),
      );
      authed.put(`${P}/blocks/:user_id`, { schema: { tags, security, params: BlockParams, response: { 200: BlockOut, ...errors } } }, async (req) => {
        const user = await core.friends.block(req.user, req.params.user_id);
        const mine = (await core.friends.blocked(req.user)).find((b) => b.user.id === user.id);
        return { user: renderUser(user), blocked_at: new Date(mine?.since ?? Date.now()).toISOString() };
      });
      authed.delete(`${P}/blocks/:user_id`, { schema: { tags, security, params: BlockParams } }, async (req, reply) => {
        await core.friends.unblock(req.user, req.params.user_id);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ conversations
      // Paged by last activity: a page costs its conversations, a few members each, never every
      // member of every conversation. The next page's cursor is a header, so the body stays the list.
      authed.get(
        `${P}/conversations`,
        { schema: { tags, security, querystring: ConversationListQuery, response: { 200: Type.Array(ConversationOut), ...errors } } },
        async (req, reply) => {
          const [at, id] = req.query.before ? req.query.before.split('_').map(Number) : [];
          const page = await core.conversations.listPage(req.user, { limit: req.query.limit ?? 50, before: at === undefined ? undefined : { at, id } });
          if (page.next) reply.header('parley-next-cursor', `${page.next.at}_${page.next.id}`);
          return conversations(req.user, page.views);
        },
      );
      authed.post(`${P}/conversations`, { schema: { tags, security, body: CreateConversationBody, response: { 201: ConversationOut, ...errors } } }, async (req, reply) => {
        const b = req.body;
        if (b.kind === 'direct' && b.user_id === undefined) throw new DomainError('invalid_input', 'A direct conversation needs user_id');
        const view = await core.conversations.create(req.user, {
          kind: b.kind,
          title: b.title ?? null,
          members: b.kind === 'direct' ? [b.user_id!] : (b.member_ids ?? []),
        });
        return reply.code(201).send(await conversation(req.user, view));
      });
      authed.get(`${P}/conversations/:id`, { schema: { tags, security, params: ConversationParams, response: { 200: ConversationOut, ...errors } } }, async (req) =>
        conversation(req.user, await core.conversations.view(req.user, req.params.id)),
      );
      authed.patch(
        `${P}/conversations/:id`,
        { schema: { tags, security, params: ConversationParams, body: UpdateConversationBody, response: { 200: ConversationOut, ...errors } } },
        async (req) => conversation(req.user, await core.conversations.rename(req.user, req.params.id, req.body.title)),
      );
      authed.delete(`${P}/conversations/:id`, { schema: { tags, security, params: ConversationParams } }, async (req, reply) => {
        await core.conversations.remove(req.user, req.params.id);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ participants
      type MemberOf = Awaited<ReturnType<typeof core.conversations.participants>>[number];
      const members = async (user: User, list: MemberOf[]) => {
        const seen = await core.presence.view(user, list.map((m) => m.user.id));
        return list.map((m) => ({
          user: renderUser(m.user),
          role: m.participant.role,
          read_seq: m.participant.readSeq,
          delivered_seq: m.participant.deliveredSeq,
          joined_at: new Date(m.participant.joinedAt).toISOString(),
          online: seen.isOnline(m.user.id),
        }));
      };
      authed.get(`${P}/conversations/:id/participants`, { schema: { tags, security, params: ConversationParams, response: { 200: Type.Array(MemberOut), ...errors } } }, async (req) =>
        members(req.user, await core.conversations.participants(req.user, req.params.id)),
      );
      authed.post(
        `${P}/conversations/:id/participants`,
        { schema: { tags, security, params: ConversationParams, body: AddParticipantBody, response: { 201: MemberOut, 200: MemberOut, ...errors } } },
        async (req, reply) => {
          // A participant already: 200 with the membership as it is (nothing changed, no event).
          const r = await core.conversations.addParticipant(req.user, req.params.id, req.body.user_id, req.body.role);
          return reply.code(r.added ? 201 : 200).send((await members(req.user, [r.member]))[0]);
        },
      );
      authed.patch(
        `${P}/conversations/:id/participants/:user_id`,
        { schema: { tags, security, params: ParticipantParams, body: SetRoleBody, response: { 200: MemberOut, ...errors } } },
        async (req) => (await members(req.user, [await core.conversations.setRole(req.user, req.params.id, req.params.user_id, req.body.role)]))[0],
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
            epoch: core.messages.epoch ?? '',
          };
        },
      );
      authed.get(
        `${P}/conversations/:id/changes`,
        { schema: { tags, security, params: ConversationParams, querystring: ChangesQuery, response: { 200: ChangesOut } } },
        async (req, reply) => {
          const cursor: ChangeCursor = { afterSeq: req.query.after_seq, afterChangeSeq: req.query.after_change_seq };
          let catchUp;
          try {
            catchUp = await core.messages.catchUp(req.user, req.params.id, { ...cursor, epoch: req.query.epoch });
          } catch (e) {
            if (!(e instanceof ResyncRequired)) throw e;
            return (reply as FastifyReply).code(409).send({ detail: 'Too much was missed: reload the conversation', code: 'snapshot_required', missed: e.missed });
          }
          // A page, not the whole backlog: 10,000 missed messages were one 55 MB answer, built
          // in memory at once (four at a time: +840 MB). It stops at `limit` messages or before
          // MESSAGES_PAGE_MAX_BYTES of frames, whichever comes first (at least one message), and
          // only that much is read from the store. The frames are the socket's, as strings.
          const renderer = parleyRenderer(ctx);
          const conn = { user: req.user } as never;
          const limit = req.query.limit ?? 500;
          const maxBytes = ctx.config.messagesPageMaxBytes;
          const frames: string[] = [];
          let bytes = 0;
          let taken = 0;
          let next = cursor;
          let hasMore = false;
          for await (const entry of catchUp.entries()) {
            const rendered = entry.events.map((e) => renderer.frame(e, conn)).filter((f) => f !== '');
            const size = rendered.reduce((n, f) => n + Buffer.byteLength(f) + 1, 0);
            if (taken === limit || (taken > 0 && bytes + size > maxBytes)) {
              hasMore = true;
              break;
            }
            frames.push(...rendered);
            bytes += size;
            taken++;
            next = entry.next;
          }
          const epoch = core.messages.epoch === null ? {} : { epoch: core.messages.epoch };
          const nextOut = next.afterChangeSeq === undefined ? { after_seq: next.afterSeq, ...epoch } : { after_seq: next.afterSeq, after_change_seq: next.afterChangeSeq, ...epoch };
          return (reply as FastifyReply).type('application/json; charset=utf-8').send(`{"frames":[${frames.join(',')}],"has_more":${hasMore},"next":${JSON.stringify(nextOut)}}`);
        },
      );
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
