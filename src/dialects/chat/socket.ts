import type { DomainEvent } from '../../core/events.js';
import { LIKE_EMOJI, type Id } from '../../core/model.js';
import { ResyncRequired } from '../../core/messages/messages.js';
import { isDomainError } from '../../core/errors.js';
import { CloseCodes, type Connection, type EventRenderer } from '../../delivery/connection.js';
import type { DialectContext } from '../dialect.js';
import { FrameValidator } from '../shared/frames.js';
import { FrameError, type FrameHandler } from '../shared/socket.js';
import { isRead, receiverOf, renderMessage, type Ctx } from './render.js';
import { JoinRoomData, LikeData, MarkReadData, SendMessageData, TypingData } from './schemas.js';
import { CHAT_POLICY, type FilePolicy } from '../../core/files/policy.js';
import { chatFileInputs } from './files.js';

export interface ChatSocketState {
  /** The room this socket follows (room_id in the URL, or join_room). */
  room: Id | null;
}

type ChatConn = Connection<ChatSocketState>;

/** How /api/chat sockets show domain events (document 001's frames, 000's where they agree). */
export function chatRenderer(ctx: Ctx, name = 'chat', updateFrame = 'message_update'): EventRenderer<ChatSocketState> {
  const messageFrame = (type: string, e: Extract<DomainEvent, { message: unknown }>, viewerId: Id, localTempId: string | null) => {
    const receiver = receiverOf(e.conversation.pair, e.message.senderId);
    const readSeqs = 'readSeqs' in e ? e.readSeqs : null;
    return JSON.stringify({
      type,
      data: renderMessage(ctx, {
        message: e.message,
        sender: e.sender,
        receiver,
        viewerId,
        isRead: isRead(e.message, viewerId, readSeqs, receiver?.id ?? null),
        localTempId,
      }),
    });
  };
  const liked = (e: Extract<DomainEvent, { message: unknown }>, viewer: Id) =>
    e.message.reactions.some((r) => r.emoji === LIKE_EMOJI && r.userIds.includes(viewer));

  return {
    name,
    key(e, conn) {
      const me = conn.user.id;
      switch (e.type) {
        case 'message.created':
          return e.message.senderId === me ? 's' : 'r';
        case 'reaction.added':
        case 'reaction.removed':
          if (e.emoji !== LIKE_EMOJI) return null;
        // falls through: a like changes like_count and is_liked
        case 'message.updated':
        case 'message.deleted':
          return `${e.message.senderId === me ? 's' : 'r'}${liked(e, me) ? 'l' : ''}`;
        case 'typing':
          return e.user.id === me ? null : 't';
        case 'receipt.read':
          return 'r';
        case 'presence':
          return e.user.id === me ? null : 'p';
        default:
          return null;
      }
    },
    frame(e, conn) {
      const me = conn.user.id;
      switch (e.type) {
        case 'message.created':
          return messageFrame('new_message', e, me, e.localTempId);
        case 'message.updated':
        case 'message.deleted':
        case 'reaction.added':
        case 'reaction.removed':
          return messageFrame(updateFrame, e, me, null);
        case 'typing':
          return JSON.stringify({
            type: 'typing',
            data: { room_id: e.conversation.id, user_id: e.user.id, user_name: e.user.name, is_typing: e.isTyping, typing_users: e.typingUserIds },
          });
        case 'receipt.read':
          return JSON.stringify({
            type: 'message_read',
            data: { room_id: e.conversation.id, user_id: e.user.id, user_name: e.user.name, read_seq: e.readSeq },
          });
        case 'presence':
          return JSON.stringify({
            type: 'presence',
            data: { user_id: e.user.id, is_online: e.isOnline, user_name: e.user.name, last_seen: new Date(e.lastSeen).toISOString() },
          });
        default:
          return '';
      }
    },
  };
}


const send = new FrameValidator(SendMessageData);
const typing = new FrameValidator(TypingData);
const join = new FrameValidator(JoinRoomData);
const markRead = new FrameValidator(MarkReadData);
const like = new FrameValidator(LikeData);

function currentRoom(conn: ChatConn, given: Id | null | undefined): Id {
  const room = given ?? conn.state.room;
  if (room == null) throw new FrameError('room_id is required: join a room first or name one');
  return room;
}

/** Follows `room` on this socket; with `lastSeq`, first replays what the socket missed. */
export async function followRoom(ctx: DialectContext, conn: ChatConn, room: Id, lastSeq: number | undefined): Promise<void> {
  const { conversation } = await ctx.core.conversations.access(conn.user, room);
  if (conn.state.room !== null && conn.state.room !== conversation.id) ctx.hub.leave(conn, conn.state.room);
  conn.state.room = conversation.id;
  if (lastSeq === undefined) {
    await ctx.hub.join(conn, conversation.id);
    return;
  }
  await ctx.hub.joinWithReplay(conn, conversation.id, async () => {
    try {
      const missed = await ctx.core.messages.since(conn.user, conversation.id, lastSeq);
      const senders = await ctx.core.users.summaries(missed.messages.map((m) => m.senderId));
      return missed.messages.map((message) => ({
        type: 'message.created' as const,
        conversation: missed.conversation,
        message,
        sender: senders.get(message.senderId)!,
        localTempId: message.clientId,
      }));
    } catch (e) {
      if (!(e instanceof ResyncRequired)) throw e;
      conn.send(JSON.stringify({ type: 'snapshot_required', data: { room_id: conversation.id, missed: e.missed } }));
      return [];
    }
  });
}

export function chatHandlers(ctx: DialectContext, filePolicy: FilePolicy = CHAT_POLICY): Record<string, FrameHandler<ChatSocketState>> {
  const { core } = ctx;
  return {
    async send_message(conn, frame) {
      const d = send.data(frame);
      const files = chatFileInputs(d);
      let room = d.room_id ?? conn.state.room;
      if (room == null) {
        if (d.receiver_id == null) throw new FrameError('room_id or receiver_id is required');
        room = (await core.conversations.openDirect(conn.user, d.receiver_id)).conversation.id;
      }
      // With files, the file service validates and stores them around the same send.
      await core.files.send(
        conn.user,
        {
          conversation: room,
          kind: d.message_type ?? 'text',
          content: d.content ?? null,
          clientId: d.local_temp_id == null ? null : String(d.local_temp_id),
          replyTo: d.reply_to ?? null,
          expectedReceiver: d.receiver_id ?? null,
        },
        files,
        filePolicy,
        conn.id,
      );
    },
    async typing(conn, frame) {
      const d = typing.data(frame);
      await core.presence.typing(conn.user, currentRoom(conn, d.room_id), d.is_typing);
    },
    async join_room(conn, frame) {
      const d = join.data(frame);
      await followRoom(ctx, conn, d.room_id, d.last_seq);
      conn.send(JSON.stringify({ type: 'room_joined', data: { room_id: d.room_id } }));
    },
    async leave_room(conn) {
      if (conn.state.room !== null) ctx.hub.leave(conn, conn.state.room);
      const left = conn.state.room;
      conn.state.room = null;
      conn.send(JSON.stringify({ type: 'room_left', data: { room_id: left } }));
    },
    // Parley extensions: read receipts and likes without a REST round trip.
    async mark_read(conn, frame) {
      const d = markRead.data(frame);
      await core.conversations.markRead(conn.user, currentRoom(conn, d.room_id), d.seq);
    },
    async like_message(conn, frame) {
      await core.messages.toggleLike(conn.user, like.data(frame).message_id);
    },
    async ping(conn) {
      conn.send('{"type":"pong"}');
    },
  };
}

/** 4001 for a missing or invalid token or unknown user, 4000 for anything else (002's codes). */
export function refuseChat(e: unknown) {
  if (isDomainError(e) && e.kind === 'unauthenticated') return { code: CloseCodes.invalidToken, reason: 'Invalid or missing token' };
  return { code: CloseCodes.authFailed, reason: 'Authentication failed' };
}
