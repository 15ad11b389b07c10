import type { Static, TObject } from '@sinclair/typebox';
import type { ConversationView, Message, User, UserSummary } from '../../core/model.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { isRead, receiverOf, renderMessage, renderRoom, userDetails, type Ctx } from './render.js';
import { CreateRoomBody, MessageParams, PageQuery, RoomParams, SearchQuery, UpdateMessageBody } from './schemas.js';
import type { FilePolicy } from '../../core/files/policy.js';
import { TAGS, TEXTS, errorsShown, example, operation, shown, type Tag } from '../../http/api-docs.js';
import { CHAT_FILE_MESSAGE, CHAT_MESSAGE, CHAT_ROOM, JANE, ROOM_MESSAGE } from './examples.js';

/**
 * The room API of documents 000 and 001 under /api/chat. Document 002's room half is the
 * same API under /api/v1/chat (its bodies are the ones used here) with its own frame name
 * for edits; the v1 dialect mounts it with `ROOMS_002`.
 */
export interface RoomsVariant {
  prefix: string;
  renderer: string;
  /** Its tag in /docs, and the prefix of its operation ids ('chat', 'rooms'). */
  tag: Tag;
  operationPrefix: string;
  /** The documents it serves, as /docs names them. */
  documents: string;
  /** The frame an edit or delete is shown as: 001's `message_update`, 002's `message_updated`. */
  updateFrame: string;
  /** False where another route owns DELETE …/messages/{id} (002 shares it with 004). */
  deleteRoute: boolean;
  /**
   * How many of the newest messages GET …/rooms/{id} carries in `message_list`. 002 says
   * "ALL messages in one call"; a bound keeps the call constant-time on a long history, and
   * `has_more` tells the client to page the rest.
   */
  detailMessages: number;
  /** The document's file types and limits (core/files/policy.ts); 000/001's when unset. */
  files?: FilePolicy;
}

/** Messages read per query for a room detail's message_list. */
const DETAIL_CHUNK = 100;

export const ROOMS_001: RoomsVariant = {
  prefix: '/api/chat',
  renderer: 'chat',
  tag: TAGS.chat,
  operationPrefix: 'chat',
  documents: 'documents 000 and 001',
  updateFrame: 'message_update',
  deleteRoute: true,
  detailMessages: 50,
};

/** The rooms' REST routes under the variant's prefix (defineDialect adds the error handler, body parser and auth). */
export function chatRest(v: RoomsVariant = ROOMS_001) {
  return (ctx: DialectContext, authed: DialectScope) => {
    const { core } = ctx;
    // Bodies are rendered by hand (a rendering may add fields): shown in /docs, never filtered by a schema.
    const docs = (id: string, summary: string, description: string, ok: object, ...errors: { detail: string }[]) =>
      operation({
        tag: v.tag,
        id: `${v.operationPrefix}${id}`,
        summary,
        description: `${description} As in ${v.documents}. ${TEXTS.bearer}`,
        responses: { 200: ok, ...errorsShown(TEXTS.notAuthenticated, ...errors) },
      });
    const room = (r: object) => ({ ...CHAT_ROOM, ...r });

    const viewMessages = (seen: Ctx, view: { conversation: { pair: [UserSummary, UserSummary] | null } }, messages: Message[], viewerId: number, readSeqs: Record<number, number>, senders: ReadonlyMap<number, UserSummary>) =>
      messages.map((m) => {
        const receiver = receiverOf(view.conversation.pair, m.senderId);
        return renderMessage(seen, {
          message: m,
          sender: senders.get(m.senderId)!,
          receiver,
          viewerId,
          isRead: isRead(m, viewerId, readSeqs, receiver?.id ?? null),
          localTempId: null, // documented: always null on GET
        });
      });

    const readSeqsOf = (v: ConversationView) => Object.fromEntries(v.members.map((m) => [m.user.id, m.participant.readSeq]));
    // `is_online` of the people a response names, as the core lets the caller see them.
    const seenBy = async (user: User, ids: Iterable<number>): Promise<Ctx> => {
      const view = await core.presence.view(user, [...ids]);
      return { fileUrl: ctx.fileUrl, isOnline: view.isOnline };
    };
    const roomPeople = (views: ConversationView[]) => views.flatMap((v) => v.members.map((m) => m.user.id));

    authed.get('/search-users', { schema: {
      ...docs('SearchUsers', 'Search users by email', 'People of my tenant whose e-mail contains `email`, with their presence, to start a chat with.', shown('Matching users', { users: [{ ...JANE, is_online: true }], total: 1 })),
      querystring: SearchQuery,
    } }, async (req) => {
      const users = await core.users.search(req.user, req.query.email, req.query.limit ?? 20);
      const seen = await seenBy(req.user, users.map((u) => u.id));
      return { users: users.map((u) => userDetails(seen, u)), total: users.length };
    });

    authed.post('/rooms', { schema: {
      ...docs('CreateRoom', 'Create a direct room', 'Opens the direct room with receiver_id; asking again (from either side, through any API) returns the same room.', shown('The room', room({ last_message: null, unread_count: 0 })), { detail: 'You cannot start a chat with yourself' }),
      body: example(CreateRoomBody, 'Who to talk to', { receiver_id: 2 }),
    } }, async (req) => {
      const view = await core.conversations.openDirect(req.user, req.body.receiver_id);
      return renderRoom(await seenBy(req.user, roomPeople([view])), view);
    });

    authed.get('/rooms', { schema: {
      ...docs('ListRooms', "Get the user's rooms", 'Every room of mine, most recent activity first, with the other user, the last message and my unread count.', shown('The rooms', { rooms: [CHAT_ROOM], total: 1 })),
    } }, async (req) => {
      const rooms = await core.conversations.list(req.user);
      const seen = await seenBy(req.user, roomPeople(rooms));
      return { rooms: rooms.map((r) => renderRoom(seen, r)), total: rooms.length };
    });

    authed.get('/rooms/:room_id', { schema: {
      ...docs(
        'GetRoom',
        'Get a room with its messages',
        'The room, its last message, and its messages in message_list (oldest first; the newest ones when the history is long: has_more then sends you to …/messages).',
        shown('The room and its messages', { ...CHAT_ROOM, message_list: { messages: [ROOM_MESSAGE], total: 1, has_more: false } }),
        TEXTS.roomNotFound,
      ),
      params: RoomParams,
    } }, async (req) => {
      const view = await core.conversations.view(req.user, req.params.room_id);
      // 002's room detail carries the messages, oldest first, as it shows them: the newest
      // `detailMessages` (seq ranges), and no more than MESSAGES_PAGE_MAX_BYTES of them — 1000
      // messages of 5000 characters were 5.5 MB in one answer. Read a chunk at a time, newest
      // first, so only what is answered is held; `has_more` sends the client to the pages.
      const readSeqs = readSeqsOf(view);
      const maxBytes = ctx.config.messagesPageMaxBytes;
      const shown: ReturnType<typeof viewMessages> = [];
      let bytes = 0;
      let total = view.conversation.lastSeq;
      fill: for (let skip = 0; skip < v.detailMessages; skip += DETAIL_CHUNK) {
        const page = await core.messages.window(req.user, view.conversation.id, skip, Math.min(DETAIL_CHUNK, v.detailMessages - skip));
        total = page.total;
        const seen = await seenBy(req.user, [...roomPeople([view]), ...page.senders.keys()]);
        for (const m of viewMessages(seen, page, page.messages, req.user.id, readSeqs, page.senders)) {
          const size = Buffer.byteLength(JSON.stringify(m)) + 1;
          if (shown.length > 0 && bytes + size > maxBytes) break fill;
          shown.push(m);
          bytes += size;
        }
        if (page.messages.length < DETAIL_CHUNK) break;
      }
      return {
        ...renderRoom(await seenBy(req.user, roomPeople([view])), view),
        message_list: { messages: shown.reverse(), total, has_more: total > shown.length },
      };
    });

    authed.get('/rooms/:room_id/messages', { schema: {
      ...docs(
        'ListMessages',
        'Get room messages',
        'A page of the room\'s messages, newest first (page, per_page). local_temp_id is always null here; files_data is a list when the message has files.',
        shown('A page of messages', { messages: [CHAT_MESSAGE, CHAT_FILE_MESSAGE], total: 100, has_more: true, page: 1, per_page: 50, total_pages: 2 }),
        TEXTS.roomNotFound,
      ),
      params: RoomParams,
      querystring: PageQuery,
    } }, async (req) => {
      const perPage = req.query.per_page ?? 50;
      const pageNo = req.query.page ?? 1;
      const view = await core.conversations.view(req.user, req.params.room_id);
      const page = await core.messages.page(req.user, view.conversation.id, pageNo, perPage);
      const totalPages = Math.ceil(page.total / perPage);
      const seen = await seenBy(req.user, [...roomPeople([view]), ...page.senders.keys()]);
      return {
        messages: viewMessages(seen, page, page.messages, req.user.id, readSeqsOf(view), page.senders),
        total: page.total,
        has_more: pageNo < totalPages,
        page: pageNo,
        per_page: perPage,
        total_pages: totalPages,
      };
    });

    // What one does to a room or a message, answered with the documents' `{status, message}`: /docs shows the very body.
    const action = <P extends TObject>(
      route: { method: 'POST' | 'DELETE'; url: string; params: P; answer: string; doc: [id: string, summary: string, description: string, done: string, notFound: { detail: string }] },
      act: (user: User, params: Static<P>) => Promise<unknown>,
    ) => {
      const answer = { status: 'success', message: route.answer };
      const [id, summary, description, done, notFound] = route.doc;
      authed.route({
        method: route.method,
        url: route.url,
        schema: { ...docs(id, summary, description, shown(done, answer), notFound), params: route.params },
        handler: async (req) => {
          await act(req.user, req.params as Static<P>);
          return answer;
        },
      });
    };

    action({ method: 'POST', url: '/rooms/:room_id/read', params: RoomParams, answer: 'Room marked as read',
      doc: ['MarkRead', 'Mark the room as read', 'Marks every message of the room read for me; the other side gets message_read.', 'Marked', TEXTS.roomNotFound] },
      (user, p) => core.conversations.markRead(user, p.room_id));

    const renderOne = async (req: { user: User }, m: Message) => {
      const view = await core.conversations.view(req.user, m.conversationId);
      const ref = await core.conversations.ref(view.conversation);
      const { senders } = await core.messages.named([m]);
      const seen = await seenBy(req.user, [...roomPeople([view]), m.senderId]);
      return viewMessages(seen, { conversation: ref }, [m], req.user.id, readSeqsOf(view), senders)[0];
    };

    authed.put('/messages/:message_id', { schema: {
      ...docs(
        'UpdateMessage',
        'Update a message',
        'Edits my text message: send `content=…` form-encoded as documented (JSON works too). The room gets the edit on its socket.',
        shown('The message as edited', { ...CHAT_MESSAGE, content: 'Updated message content', is_edited: true, updated_at: '2024-01-01T12:10:00Z' }),
        TEXTS.messageNotFound,
      ),
      params: MessageParams,
      body: example(UpdateMessageBody, 'The new text', { content: 'Updated message content' }),
    } }, async (req) => {
      return renderOne(req, await core.messages.edit(req.user, req.params.message_id, req.body.content));
    });

    if (v.deleteRoute) {
      action({ method: 'DELETE', url: '/messages/:message_id', params: MessageParams, answer: 'Message deleted',
        doc: ['DeleteMessage', 'Delete a message', 'Soft-deletes my message: it stays in the history with is_deleted true and its content hidden.', 'Deleted', TEXTS.messageNotFound] },
        (user, p) => core.messages.delete(user, p.message_id));
    }

    // Parley extension: 001 shows is_liked/like_count; this is how a client likes.
    authed.post('/messages/:message_id/like', { schema: {
      ...docs('LikeMessage', 'Like or unlike a message', "Parley's addition: toggles my like (is_liked, like_count).", shown('The message', { ...CHAT_MESSAGE, is_liked: true, like_count: 1 }), TEXTS.messageNotFound),
      params: MessageParams,
    } }, async (req) => {
      return renderOne(req, await core.messages.toggleLike(req.user, req.params.message_id));
    });

    authed.get('/unread-count', { schema: {
      ...docs('UnreadCount', 'Get unread counts', 'Unread messages per room id, and their total.', shown('Unread counts', { unread_counts: { '1': 2, '3': 5, '7': 0 }, unread_count: 7, total_unread: 7 })),
    } }, async (req) => {
      const rooms = await core.conversations.list(req.user);
      const counts: Record<string, number> = {};
      let total = 0;
      for (const r of rooms) {
        counts[String(r.conversation.id)] = r.unreadCount;
        total += r.unreadCount;
      }
      return { unread_counts: counts, unread_count: total, total_unread: total };
    });

    authed.get('/online-users', { schema: {
      ...docs(
        'OnlineUsers',
        'Get online users',
        'The people I share a room with who are online now.',
        shown('Online users', { online_users: [{ user_id: 2, name: 'John Doe', last_seen: '2024-01-21T12:05:00Z', is_online: true }] }),
      ),
    } }, async (req) => {
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
  };
}
