import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ConversationView, Message, UserSummary } from '../../core/model.js';
import type { DialectContext } from '../dialect.js';
import { requireUser } from '../shared/auth.js';
import { detailErrorHandler } from '../shared/errors.js';
import { acceptSocket } from '../shared/socket.js';
import { CHAT_TEXTS } from './codes.js';
import { isRead, receiverOf, renderMessage, renderRoom, userDetails } from './render.js';
import { CreateRoomBody, MessageParams, PageQuery, RoomParams, SearchQuery, SocketQuery, UpdateMessageBody } from './schemas.js';
import { chatHandlers, chatRenderer, followRoom, refuseChat, type ChatSocketState } from './socket.js';

/** Documents 000 and 001 under /api/chat. */
export function chatRoutes(ctx: DialectContext): FastifyPluginAsync {
  const { core } = ctx;
  const renderer = chatRenderer(ctx);
  const handlers = chatHandlers(ctx);

  return async (app0) => {
    const app = app0.withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler(detailErrorHandler(CHAT_TEXTS));

    // WebSocket: the token is in the query (browsers cannot set headers on a WebSocket).
    app.get('/api/chat/ws', { websocket: true, schema: { hide: true, querystring: SocketQuery } }, (socket, req) => {
      const q = req.query as { token?: string; room_id?: string; last_seq?: string };
      acceptSocket<ChatSocketState>(ctx, socket, {
        renderer,
        texts: CHAT_TEXTS,
        authenticate: () => core.accounts.authenticate(q.token),
        refuse: refuseChat,
        initialState: () => ({ room: null }),
        handlers,
        async ready(conn) {
          if (q.room_id === undefined || q.room_id === '') return;
          const room = /^\d+$/.test(q.room_id) ? Number(q.room_id) : NaN;
          const lastSeq = q.last_seq !== undefined && /^\d+$/.test(q.last_seq) ? Number(q.last_seq) : undefined;
          try {
            if (!Number.isSafeInteger(room)) throw new Error('bad room id');
            await followRoom(ctx, conn, room, lastSeq);
          } catch {
            conn.close(4003, 'Room not found');
          }
        },
      });
    });

    app.register(async (authed0) => {
      const authed = authed0.withTypeProvider<TypeBoxTypeProvider>();
      authed.addHook('preHandler', requireUser(core));
      const tags = ['/api/chat (000, 001)'];
      const security = [{ bearer: [] }];

      const viewMessages = (view: { conversation: { pair: [UserSummary, UserSummary] | null } }, messages: Message[], viewerId: number, readSeqs: Record<number, number>, senders: Map<number, UserSummary>) =>
        messages.map((m) => {
          const receiver = receiverOf(view.conversation.pair, m.senderId);
          return renderMessage(ctx, {
            message: m,
            sender: senders.get(m.senderId) ?? { id: m.senderId, uuid: '', name: 'Deleted user', email: '', avatarUrl: null },
            receiver,
            viewerId,
            isRead: isRead(m, viewerId, readSeqs, receiver?.id ?? null),
            localTempId: null, // documented: always null on GET
          });
        });

      const readSeqsOf = (v: ConversationView) => Object.fromEntries(v.members.map((m) => [m.user.id, m.participant.readSeq]));

      authed.get('/api/chat/search-users', { schema: { tags, security, querystring: SearchQuery } }, async (req) => {
        const users = await core.users.search(req.user, req.query.email, req.query.limit ?? 20);
        return { users: users.map((u) => userDetails(ctx, u)), total: users.length };
      });

      authed.post('/api/chat/rooms', { schema: { tags, security, body: CreateRoomBody } }, async (req) => {
        return renderRoom(ctx, await core.conversations.openDirect(req.user, req.body.receiver_id));
      });

      authed.get('/api/chat/rooms', { schema: { tags, security } }, async (req) => {
        const rooms = await core.conversations.list(req.user);
        return { rooms: rooms.map((r) => renderRoom(ctx, r)), total: rooms.length };
      });

      authed.get('/api/chat/rooms/:room_id', { schema: { tags, security, params: RoomParams } }, async (req) => {
        const view = await core.conversations.view(req.user, req.params.room_id);
        // 002's room detail carries the messages; here the newest page, oldest first, as it shows them.
        const page = await core.messages.page(req.user, view.conversation.id, 1, 50);
        const senders = await core.users.summaries(page.messages.map((m) => m.senderId));
        return {
          ...renderRoom(ctx, view),
          message_list: {
            messages: viewMessages(page, page.messages, req.user.id, readSeqsOf(view), senders).reverse(),
            total: page.total,
            has_more: page.total > page.messages.length,
          },
        };
      });

      authed.get('/api/chat/rooms/:room_id/messages', { schema: { tags, security, params: RoomParams, querystring: PageQuery } }, async (req) => {
        const perPage = req.query.per_page ?? 50;
        const pageNo = req.query.page ?? 1;
        const view = await core.conversations.view(req.user, req.params.room_id);
        const page = await core.messages.page(req.user, view.conversation.id, pageNo, perPage);
        const senders = await core.users.summaries(page.messages.map((m) => m.senderId));
        const totalPages = Math.ceil(page.total / perPage);
        return {
          messages: viewMessages(page, page.messages, req.user.id, readSeqsOf(view), senders),
          total: page.total,
          has_more: pageNo < totalPages,
          page: pageNo,
          per_page: perPage,
          total_pages: totalPages,
        };
      });

      authed.post('/api/chat/rooms/:room_id/read', { schema: { tags, security, params: RoomParams } }, async (req) => {
        await core.conversations.markRead(req.user, req.params.room_id);
        return { status: 'success', message: 'Room marked as read' };
      });

      const renderOne = async (req: { user: { id: number } }, m: Message) => {
        const view = await core.conversations.view(req.user as never, m.conversationId);
        const ref = await core.conversations.ref(view.conversation);
        const senders = await core.users.summaries([m.senderId]);
        return viewMessages({ conversation: ref }, [m], req.user.id, readSeqsOf(view), senders)[0];
      };

      authed.put('/api/chat/messages/:message_id', { schema: { tags, security, params: MessageParams, body: UpdateMessageBody } }, async (req) => {
        return renderOne(req, await core.messages.edit(req.user, req.params.message_id, req.body.content));
      });

      authed.delete('/api/chat/messages/:message_id', { schema: { tags, security, params: MessageParams } }, async (req) => {
        await core.messages.delete(req.user, req.params.message_id);
        return { status: 'success', message: 'Message deleted' };
      });

      // Parley extension: 001 shows is_liked/like_count; this is how a client likes.
      authed.post('/api/chat/messages/:message_id/like', { schema: { tags, security, params: MessageParams } }, async (req) => {
        return renderOne(req, await core.messages.toggleLike(req.user, req.params.message_id));
      });

      authed.get('/api/chat/unread-count', { schema: { tags, security } }, async (req) => {
        const rooms = await core.conversations.list(req.user);
        const counts: Record<string, number> = {};
        let total = 0;
        for (const r of rooms) {
          counts[String(r.conversation.id)] = r.unreadCount;
          total += r.unreadCount;
        }
        return { unread_counts: counts, unread_count: total, total_unread: total };
      });

      authed.get('/api/chat/online-users', { schema: { tags, security } }, async (req) => {
        const online = await core.presence.onlinePartners(req.user);
        const users = await core.users.summaries(online);
        return {
          online_users: online.map((id) => ({
            user_id: id,
            name: users.get(id)?.name ?? null,
            last_seen: new Date(core.presence.lastSeen({ id }) ?? Date.now()).toISOString(),
            is_online: true,
          })),
        };
      });
    });
  };
}
