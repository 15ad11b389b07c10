import type { DomainEvent } from '../../core/events.js';
import { isDomainError } from '../../core/errors.js';
import type { User } from '../../core/model.js';
import type { Connection, EventRenderer } from '../../delivery/connection.js';
import type { DialectContext, DialectScope, DialectWords } from '../dialect.js';
import { userKey } from '../shared/auth.js';
import { socketHandshake } from '../shared/admission.js';
import { errorText } from '../shared/errors.js';
import { frameValidators } from '../shared/frames.js';
import { SocketSession, type FrameHandler } from '../shared/socket.js';
import { bySender, toOthers, variantKeys } from '../shared/variants.js';
import { USER_GONE_TEXT } from './codes.js';
import { otherOf, renderMessage } from './render.js';
import { MarkReadFrame, SendFrame, SocketQuery, TypingFrame } from './schemas.js';

// Document 004's socket, /api/v1/chat/ws/chat: friends-only direct messages with
// sent/delivered/read status. The friend rule is the core's (requireFriendship); this file
// only chooses it, parses and renders.

/** The user's accepted friends who are online, as the core lets the user see them. */
export async function onlineFriends(ctx: DialectContext, user: User): Promise<string[]> {
  const friends = (await ctx.core.friends.list(user)).filter((f) => f.status === 'accepted');
  const seen = await ctx.core.presence.view(user, friends.map((f) => f.user.id));
  return friends.filter((f) => seen.isOnline(f.user.id)).map((f) => f.user.uuid);
}

type FriendsConn = Connection<null>;

/** The variants of a direct conversation's events. */
const directKey = variantKeys<null>(
  {
    'message.created': (e, conn) => (e.origin === conn.id ? `o${conn.id}` : bySender(e, conn)),
    'message.updated': 'u',
    'message.deleted': 'u',
    'receipt.read': (e, conn) => (e.user.id === conn.user.id || !e.upTo ? null : 'r'),
    typing: toOthers('t'),
  },
  null,
);

/** How 004 sockets show events: all of the user's direct conversations. */
export function friendsRenderer(): EventRenderer<null> {
  return {
    name: 'v1-friends',
    key(e, conn) {
      return 'conversation' in e && e.conversation.pair ? directKey(e, conn) : null;
    },
    frame(e, conn) {
      const pair = (e as Extract<DomainEvent, { conversation: unknown }>).conversation.pair!;
      switch (e.type) {
        case 'message.created': {
          if (e.origin === conn.id) return JSON.stringify({ type: 'message_sent', message_id: e.message.uuid, status: 'sent', local_temp_id: e.localTempId, seq: e.message.seq });
          const receiver = otherOf(pair, e.message.senderId);
          // Rendered for a receiver's socket: this very delivery makes it delivered.
          const status = e.message.senderId === conn.user.id ? 'sent' : 'delivered';
          return JSON.stringify({ type: 'new_message', message: renderMessage(e.message, e.sender, receiver, status, null, e.localTempId) });
        }
        case 'message.updated':
          return JSON.stringify({ type: 'message_updated', message: renderMessage(e.message, e.sender, otherOf(pair, e.message.senderId), 'sent', null) });
        case 'message.deleted':
          return JSON.stringify({ type: 'message_deleted', message_id: e.message.uuid });
        case 'receipt.read':
          return JSON.stringify({ type: 'message_read', message_id: e.upTo!.uuid, read_by: e.user.uuid, read_seq: e.readSeq });
        case 'typing':
          return JSON.stringify({ type: 'typing_indicator', user_id: e.user.uuid, is_typing: e.isTyping });
        default:
          return '';
      }
    },
  };
}


const { sendFrame, readFrame, typingFrame } = frameValidators({ sendFrame: SendFrame, readFrame: MarkReadFrame, typingFrame: TypingFrame });

function friendsHandlers(ctx: DialectContext): Record<string, FrameHandler<null>> {
  const { core } = ctx;
  return {
    async send_message(conn, frame, ordered) {
      const d = sendFrame.flat(frame);
      const view = await core.conversations.openDirect(conn.user, userKey(d.receiver_id), { requireFriendship: true });
      await ctx.hub.join(conn, view.conversation.id, view.conversation);
      await core.messages.send(
        conn.user,
        { conversation: view.conversation.id, kind: 'text', content: d.content, clientId: d.local_temp_id == null ? null : String(d.local_temp_id), requireFriendship: true },
        conn.id,
        ordered,
      );
    },
    async mark_read(conn, frame) {
      await core.messages.markReadThrough(conn.user, readFrame.flat(frame).message_id);
    },
    async typing(conn, frame) {
      const d = typingFrame.flat(frame);
      // The friend rule covers typing too (a room shared through 002 or /api/chat is no
      // friendship); before a friend's first message the conversation is opened as the send would.
      const { other, view } = await core.conversations.findDirect(conn.user, userKey(d.receiver_id));
      const conversation = view ? view.conversation.id : (await core.conversations.openDirect(conn.user, other.id, { requireFriendship: true })).conversation.id;
      await core.presence.typing(conn.user, conversation, d.is_typing, { requireFriendship: true });
    },
    async ping(conn) {
      conn.send('{"type":"pong"}');
    },
  };
}

/** /api/v1/chat/ws/chat: a bad token is refused before the upgrade, with HTTP 401/403 as 004 documents. */
export function friendsSocket(ctx: DialectContext, app: DialectScope, { texts, closeCodes }: DialectWords) {
  const { core } = ctx;
  const renderer = friendsRenderer();
  const handlers = friendsHandlers(ctx);
  app.get(
    '/ws/chat',
    {
      websocket: true,
      schema: { hide: true, querystring: SocketQuery },
      preValidation: socketHandshake(ctx, {
        firstFrame: false,
        refuseUpgrade(e, reply) {
          if (!isDomainError(e)) throw e;
          const status = e.code === 'account_unavailable' ? 403 : 401;
          return reply.code(status).send({ detail: status === 403 ? USER_GONE_TEXT : errorText(e, texts) });
        },
      }),
    },
    (socket, req) => {
      SocketSession.accept<null>(ctx, socket, req, {
        renderer,
        texts,
        closeCodes,
        initialState: () => null,
        handlers,
        // A read mark is stored; sends have their own limit, typing and pings store nothing.
        writes: ['mark_read'],
        sends: ['send_message'],
        async ready(conn: FriendsConn) {
          conn.followNew = (c) => c.kind === 'direct';
          for (const c of await core.conversations.followed(conn.user)) {
            if (c.kind === 'direct') await ctx.hub.join(conn, c.id, c);
          }
          conn.send(JSON.stringify({ type: 'connection_established', user_id: conn.user.uuid, message: 'Connected to chat server' }));
          conn.send(JSON.stringify({ type: 'online_friends', friends: await onlineFriends(ctx, conn.user) }));
        },
      });
    },
  );
}

