import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { refusal } from '../../core/errors.js';
import { deletedUser } from '../../core/users.js';
import { NOTIFICATIONS_POLICY } from './file-policy.js';
import type { Message, User } from '../../core/model.js';
import type { PresenceView } from '../../core/presence/presence-service.js';
import type { DialectContext } from '../dialect.js';
import { requireUser, userKey } from '../shared/auth.js';
import { detailErrorHandler } from '../shared/errors.js';
import { receiveMultipart } from '../shared/multipart.js';
import { iso, isoOrNull } from '../shared/time.js';
import { NOTIFICATIONS_TEXTS } from './codes.js';
import { renderConversation, renderMessage003, renderParticipant } from './render.js';
import {
  AddParticipantBody,
  ConversationChildParams,
  ConversationParams,
  CreateConversationBody,
  MessageParams,
  MessagesQuery,
  ParticipantParams,
  PresenceBody,
  ReactionBody,
  ReactionParams,
  ReactionQuery,
  SendMessageBody,
  UpdateConversationBody,
  UpdateMessageBody,
  UpdateParticipantBody,
} from './schemas.js';
import { notificationsSocketRoute, send003 } from './socket.js';

const P = '/api/notifications/chat';

/** Document 003 under /api/notifications/chat: conversations of every kind, roles, threads, reactions, presence. */
export function notificationsRoutes(ctx: DialectContext): FastifyPluginAsync {
  const { core } = ctx;
  return async (app0) => {
    const app = app0.withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler(detailErrorHandler(NOTIFICATIONS_TEXTS));
    notificationsSocketRoute(ctx, app);

    await app.register(async (authed0) => {
      const authed = authed0.withTypeProvider<TypeBoxTypeProvider>();
      authed.addHook('onRequest', requireUser(core));
      const tags = ['/api/notifications/chat (003)'];
      const security = [{ bearer: [] }];

      const messages003 = async (user: User, conversationUuid: string, list: Message[]) => {
        const ids = new Set<number>();
        for (const m of list) {
          ids.add(m.senderId);
          for (const r of m.reactions) for (const u of r.userIds) ids.add(u);
        }
        const users = await core.users.summaries([...ids]);
        return list.map((m) => renderMessage003(ctx, m, conversationUuid, users.get(m.senderId) ?? deletedUser(m.senderId), (id) => users.get(id)));
      };
      const one = async (user: User, conversationUuid: string, m: Message) => (await messages003(user, conversationUuid, [m]))[0];
      const inConversation = async (user: User, conversationUuid: string, messageUuid: string) => {
        const { message } = await core.messages.get(user, messageUuid, { in: conversationUuid });
        return message;
      };

      // ------------------------------------------------------------ conversations
      authed.get(`${P}/conversations/`, { schema: { tags, security } }, async (req) => {
        const list = await core.conversations.list(req.user);
        return list.map((v) => renderConversation(ctx, v, req.user.tenantUuid));
      });

      authed.post(`${P}/conversations/`, { schema: { tags, security, body: CreateConversationBody } }, async (req, reply) => {
        const view = await core.conversations.create(req.user, {
          kind: req.body.conversation_type,
          title: req.body.title ?? null,
          members: (req.body.participant_ids ?? []).map(userKey),
        });
        return reply.code(201).send(renderConversation(ctx, view, req.user.tenantUuid));
      });

      authed.get(`${P}/conversations/:id/`, { schema: { tags, security, params: ConversationParams } }, async (req) =>
        renderConversation(ctx, await core.conversations.view(req.user, req.params.id), req.user.tenantUuid),
      );

      authed.put(`${P}/conversations/:id/`, { schema: { tags, security, params: ConversationParams, body: UpdateConversationBody } }, async (req) =>
        renderConversation(ctx, await core.conversations.rename(req.user, req.params.id, req.body.title ?? null), req.user.tenantUuid),
      );

      authed.delete(`${P}/conversations/:id/`, { schema: { tags, security, params: ConversationParams } }, async (req, reply) => {
        await core.conversations.remove(req.user, req.params.id);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ participants
      authed.get(`${P}/conversations/:conversation_id/participants/`, { schema: { tags, security, params: ConversationChildParams } }, async (req) => {
        const members = await core.conversations.participants(req.user, req.params.conversation_id);
        const seen = await core.presence.view(req.user, members.map((m) => m.user.id));
        return members.map((m) => renderParticipant(req.params.conversation_id, m, seen.lastSeen({ id: m.user.id })));
      });

      authed.post(
        `${P}/conversations/:conversation_id/participants/`,
        { schema: { tags, security, params: ConversationChildParams, body: AddParticipantBody } },
        async (req, reply) => {
          const { member: m, added } = await core.conversations.addParticipant(req.user, req.params.conversation_id, userKey(req.body.user_id), req.body.role ?? 'member');
          const seen = await core.presence.view(req.user, [m.user.id]);
          // A participant already: 200 with the membership as it is (nothing was created).
          return reply.code(added ? 201 : 200).send(renderParticipant(req.params.conversation_id, m, seen.lastSeen({ id: m.user.id })));
        },
      );

      // Parley's: change a role; remove someone (or leave, with your own id).
      authed.put(
        `${P}/conversations/:conversation_id/participants/:user_id/`,
        { schema: { tags, security, params: ParticipantParams, body: UpdateParticipantBody } },
        async (req) => {
          const m = await core.conversations.setRole(req.user, req.params.conversation_id, userKey(req.params.user_id), req.body.role);
          const seen = await core.presence.view(req.user, [m.user.id]);
          return renderParticipant(req.params.conversation_id, m, seen.lastSeen({ id: m.user.id }));
        },
      );

      authed.delete(`${P}/conversations/:conversation_id/participants/:user_id/`, { schema: { tags, security, params: ParticipantParams } }, async (req, reply) => {
        await core.conversations.removeParticipant(req.user, req.params.conversation_id, userKey(req.params.user_id));
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ messages
      authed.get(
        `${P}/conversations/:conversation_id/messages/`,
        { schema: { tags, security, params: ConversationChildParams, querystring: MessagesQuery } },
        async (req) => {
          const limit = req.query.limit ?? 50;
          // Newest first; before_seq pages back (a seq range, never OFFSET).
          const page = await core.messages.before(req.user, req.params.conversation_id, req.query.before_seq, limit);
          const results = await messages003(req.user, req.params.conversation_id, page.messages);
          const oldest = page.messages.at(-1)?.seq ?? 1;
          return { count: page.total, next_before_seq: oldest > 1 ? oldest : null, results };
        },
      );

      authed.post(
        `${P}/conversations/:conversation_id/messages/`,
        { schema: { tags, security, params: ConversationChildParams, body: SendMessageBody } },
        async (req, reply) => {
          const { message } = await send003(ctx, req.user, req.params.conversation_id, { ...req.body, message_type: req.body.message_type as string | undefined });
          return reply.code(201).send(await one(req.user, req.params.conversation_id, message));
        },
      );

      authed.get(`${P}/conversations/:conversation_id/messages/:id/`, { schema: { tags, security, params: MessageParams } }, async (req) =>
        one(req.user, req.params.conversation_id, await inConversation(req.user, req.params.conversation_id, req.params.id)),
      );

      authed.put(`${P}/conversations/:conversation_id/messages/:id/`, { schema: { tags, security, params: MessageParams, body: UpdateMessageBody } }, async (req) => {
        await inConversation(req.user, req.params.conversation_id, req.params.id);
        return one(req.user, req.params.conversation_id, await core.messages.edit(req.user, req.params.id, req.body.content));
      });

      authed.delete(`${P}/conversations/:conversation_id/messages/:id/`, { schema: { tags, security, params: MessageParams } }, async (req, reply) => {
        await inConversation(req.user, req.params.conversation_id, req.params.id);
        await core.messages.delete(req.user, req.params.id);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ reactions
      authed.get(`${P}/messages/:message_id/reactions/`, { schema: { tags, security, params: ReactionParams } }, async (req) => {
        const { message } = await core.messages.get(req.user, req.params.message_id);
        const users = await core.users.summaries(message.reactions.flatMap((r) => r.userIds));
        return message.reactions.flatMap((r) => r.userIds.map((u) => ({ message_id: message.uuid, user_id: users.get(u)?.uuid ?? null, emoji: r.emoji })));
      });

      authed.post(`${P}/messages/:message_id/reactions/`, { schema: { tags, security, params: ReactionParams, body: ReactionBody } }, async (req, reply) => {
        const m = await core.messages.react(req.user, req.params.message_id, req.body.emoji, true);
        return reply.code(201).send({ message_id: m.uuid, user_id: req.user.uuid, emoji: req.body.emoji, created_at: iso(Date.now()) });
      });

      authed.delete(`${P}/messages/:message_id/reactions/`, { schema: { tags, security, params: ReactionParams, querystring: ReactionQuery } }, async (req, reply) => {
        const emoji = req.query.emoji ?? (req.body as { emoji?: unknown } | undefined)?.emoji;
        if (typeof emoji !== 'string') throw refusal('emoji_required');
        await core.messages.react(req.user, req.params.message_id, emoji, false);
        return reply.code(204).send();
      });

      // ------------------------------------------------------------ presence
      const presenceOf = (seen: PresenceView, id: number, uuid: string) => ({
        user_id: uuid,
        status: seen.status(id),
        is_online: seen.isOnline(id),
        last_seen: isoOrNull(seen.lastSeen({ id })),
        current_conversation: seen.visible(id) ? core.presence.currentConversation(id) : null,
      });
      const own = async (user: User) => presenceOf(await core.presence.view(user, [user.id]), user.id, user.uuid);

      // The people whose presence the caller may see (the core's rule), each with their status.
      authed.get(`${P}/presence/`, { schema: { tags, security } }, async (req) => {
        const partners = await core.presence.partners(req.user);
        const users = await core.users.summaries(partners);
        const seen = await core.presence.view(req.user, partners);
        const out = [];
        for (const u of users.values()) {
          const p = presenceOf(seen, u.id, u.uuid);
          // Where a partner is is shown only to those who are in that conversation too.
          if (p.current_conversation) {
            const shared = await core.conversations.access(req.user, p.current_conversation).then(() => true, () => false);
            if (!shared) p.current_conversation = null;
          }
          out.push(p);
        }
        return out;
      });

      authed.get(`${P}/presence/me/`, { schema: { tags, security } }, async (req) => own(req.user));

      authed.put(`${P}/presence/me/`, { schema: { tags, security, body: PresenceBody } }, async (req) => {
        if (req.body.current_conversation !== undefined) await core.presence.setCurrentConversation(req.user, req.body.current_conversation);
        await core.presence.setStatus(req.user, req.body.status);
        return own(req.user);
      });

      // ------------------------------------------------------------ files
      authed.post(`${P}/upload/`, { schema: { tags, security, consumes: ['multipart/form-data'] } }, async (req) => {
        const { files } = await receiveMultipart(req, core, NOTIFICATIONS_POLICY);
        if (files.length !== 1) {
          await core.files.discard(files);
          throw refusal('one_file_field');
        }
        const [a] = await core.files.upload(req.user, files, null, NOTIFICATIONS_POLICY);
        return { file_url: ctx.fileUrl(a), file_name: a.fileName, file_size: a.size, content_type: a.mimeType };
      });
    });
  };
}
