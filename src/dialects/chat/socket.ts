import type { DomainEvent, EventOf } from '../../core/events.js';
import type { SendInput } from '../../core/messages/messages.js';
import { LIKE_EMOJI, type Id } from '../../core/model.js';
import { type Connection, type EventRenderer } from '../../delivery/connection.js';
import type { DialectContext, DialectScope, DialectWords } from '../dialect.js';
import { CloseCodes } from '../../delivery/connection.js';
import { inResumeTurn, socketHandshake } from '../shared/admission.js';
import { SocketSession } from '../shared/socket.js';
import { bySender, toOthers, variantKeys } from '../shared/variants.js';
import { ROOMS_001, type RoomsVariant } from './routes.js';
import type { Replay } from '../../delivery/hub.js';
import { frameValidators } from '../shared/frames.js';
import { FrameError, type FrameHandler } from '../shared/socket.js';
import { isRead, receiverOf, renderMessage, type Ctx } from './render.js';
import { JoinRoomData, LikeData, MarkReadData, SendMessageData, SocketQuery, TypingData } from './schemas.js';
import type { FilePolicy } from '../../core/files/policy.js';
import { CHAT_POLICY } from './file-policy.js';
import { chatFileInputs } from './files.js';
import { fileTextOf } from '../shared/file-frames.js';

export interface ChatSocketState {
  /** The room this socket follows (room_id in the URL, or join_room). */
  room: Id | null;
}

type ChatConn = Connection<ChatSocketState>;

/** How /api/chat sockets show domain events (document 001's frames, 000's where they agree). */
export function chatRenderer(ctx: Ctx, name = 'chat', updateFrame = 'message_update'): EventRenderer<ChatSocketState> {
  // Everyone who follows a conversation may see its current participants' presence; where
  // the core says the sender is not (they left; a block shuts the room), they show offline.
  const hidden: Ctx = { fileUrl: ctx.fileUrl, isOnline: () => false };
  const messageData = (e: Extract<DomainEvent, { message: unknown }>, viewerId: Id, localTempId: string | null) => {
    const receiver = receiverOf(e.conversation.pair, e.message.senderId);
    const readSeqs = 'readSeqs' in e ? e.readSeqs : null;
    return renderMessage('presenceHidden' in e && e.presenceHidden ? hidden : ctx, {
      message: e.message,
      sender: e.sender,
      receiver,
      viewerId,
      isRead: isRead(e.message, viewerId, readSeqs, receiver?.id ?? null),
      localTempId,
    });
  };
  const messageFrame = (type: string, e: Extract<DomainEvent, { message: unknown }>, viewerId: Id, localTempId: string | null) =>
    JSON.stringify({ type, data: messageData(e, viewerId, localTempId) });
  // A new message's two variants (sender, receiver) differ in is_sender alone while it has
  // no reactions: rendered and stringified once per event, with is_sender moved to the end
  // and written per variant (a JSON client does not care where a key is).
  const createdHeads = new WeakMap<DomainEvent, string>();
  const createdFrame = (e: Extract<DomainEvent, { type: 'message.created' }>, viewerId: Id) => {
    let head = createdHeads.get(e);
    if (head === undefined) {
      // Viewer 0 is nobody: is_sender is dropped, and without reactions or read marks
      // (a created event has none) nothing else depends on the viewer.
      // Left out as undefined (JSON.stringify skips it) rather than by a rest copy of the
      // whole object: a copy per message, ~20% of rendering it.
      const data: { is_sender?: boolean } = messageData(e, 0, e.localTempId);
      data.is_sender = undefined;
      const json = JSON.stringify({ type: 'new_message', data });
      head = json.slice(0, -2) + ',"is_sender":';
      createdHeads.set(e, head);
    }
    return head + (e.message.senderId === viewerId ? 'true}}' : 'false}}');
  };
  const liked = (e: Extract<DomainEvent, { message: unknown }>, viewer: Id) =>
    e.message.reactions.some((r) => r.emoji === LIKE_EMOJI && r.userIds.includes(viewer));
  /** A changed message: the sender's or the others' frame, with or without the viewer's like. */
  const changed = (e: Extract<DomainEvent, { message: unknown }>, conn: ChatConn) => `${bySender(e, conn)}${liked(e, conn.user.id) ? 'l' : ''}`;
  /** Only a like changes like_count and is_liked. */
  const reacted = (e: EventOf<'reaction.added' | 'reaction.removed'>, conn: ChatConn) => (e.emoji === LIKE_EMOJI ? changed(e, conn) : null);

  return {
    name,
    key: variantKeys(
      {
        'message.created': bySender,
        'message.updated': changed,
        'message.deleted': changed,
        'reaction.added': reacted,
        'reaction.removed': reacted,
        typing: toOthers('t'),
        'receipt.read': 'r',
        presence: toOthers('p'),
      },
      null,
    ),
    frame(e, conn) {
      const me = conn.user.id;
      switch (e.type) {
        case 'message.created':
          // A retry's answer carries the message as it is now: reactions make is_liked per viewer.
          if (e.message.reactions.length === 0) return createdFrame(e, me);
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


const { send, typing, join, markRead, like } = frameValidators({ send: SendMessageData, typing: TypingData, join: JoinRoomData, markRead: MarkReadData, like: LikeData });

function currentRoom(conn: ChatConn, given: Id | null | undefined): Id {
  const room = given ?? conn.state.room;
  if (room == null) throw new FrameError('room_id is required: join a room first or name one');
  return room;
}

/**
 * Follows `room` on this socket; with `lastSeq` (and `lastChangeSeq`), first replays what the
 * socket missed (docs/delivery.md, resume).
 */
export async function followRoom(ctx: DialectContext, conn: ChatConn, room: Id, lastSeq: number | undefined, lastChangeSeq?: number, epoch?: string): Promise<void> {
  const { conversation } = await ctx.core.conversations.access(conn.user, room);
  if (conn.state.room !== null && conn.state.room !== conversation.id) ctx.hub.leave(conn, conn.state.room);
  conn.state.room = conversation.id;
  if (lastSeq === undefined) {
    await ctx.hub.join(conn, conversation.id, conversation);
    return;
  }
  const load = async (): Promise<Replay> => {
    const r = await ctx.core.messages.resume(conn.user, conversation.id, { afterSeq: lastSeq, afterChangeSeq: lastChangeSeq, epoch });
    if (r.snapshotRequired) {
      conn.send(JSON.stringify({ type: 'snapshot_required', data: { room_id: conversation.id, missed: r.missed } }));
      // The REST history the client reloads now covers the snapshot's position.
      return { events: [], upTo: r.position };
    }
    return { events: r.events, upTo: r.position };
  };
  try {
    // Over RESUME_CONCURRENCY the socket is closed with 1013 and a retry hint instead.
    await inResumeTurn(ctx, conn, () => ctx.hub.joinWithReplay(conn, conversation.id, load, conversation).then(() => {}));
  } catch (e) {
    // Not following the room after all (see Hub.joinWithReplay).
    if (conn.state.room === conversation.id) conn.state.room = null;
    throw e;
  }
}

/** The frames of chatHandlers that change stored state: they take from the user's write budget. */
export const CHAT_WRITE_FRAMES = ['mark_read', 'like_message'] as const;

export function chatHandlers(ctx: DialectContext, filePolicy: FilePolicy = CHAT_POLICY): Record<string, FrameHandler<ChatSocketState>> {
  const { core } = ctx;
  return {
    async send_message(conn, frame, ordered) {
      const d = send.data(frame);
      const files = chatFileInputs(d, (v) => fileTextOf(frame, v));
      let room = d.room_id ?? conn.state.room;
      if (room == null) {
        if (d.receiver_id == null) throw new FrameError('room_id or receiver_id is required');
        room = (await core.conversations.openDirect(conn.user, d.receiver_id)).conversation.id;
      }
      const input: SendInput = {
        conversation: room,
        kind: d.message_type ?? 'text',
        content: d.content ?? null,
        clientId: d.local_temp_id == null ? null : String(d.local_temp_id),
        replyTo: d.reply_to ?? null,
        expectedReceiver: d.receiver_id ?? null,
      };
      // With files, the files service validates and stores them aside; the send carries them.
      if (files.length > 0) input.files = await core.files.prepare(conn.user, input, files, filePolicy);
      await core.messages.send(conn.user, input, conn.id, ordered);
    },
    async typing(conn, frame) {
      const d = typing.data(frame);
      await core.presence.typing(conn.user, currentRoom(conn, d.room_id), d.is_typing);
    },
    async join_room(conn, frame) {
      const d = join.data(frame);
      await followRoom(ctx, conn, d.room_id, d.last_seq, d.last_change_seq, d.epoch);
      conn.send(JSON.stringify({ type: 'room_joined', data: { room_id: d.room_id, epoch: core.messages.epoch ?? '' } }));
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

/** The rooms' socket, `/ws` under the variant's prefix (/api/chat/ws, 002's /api/v1/chat/ws). */
export function chatSocket(v: RoomsVariant = ROOMS_001) {
  return (ctx: DialectContext, app: DialectScope, { texts, closeCodes }: DialectWords) => {
    const renderer = chatRenderer(ctx, v.renderer, v.updateFrame);
    const handlers = chatHandlers(ctx, v.files);
    // WebSocket: the token is in the query (browsers cannot set headers on a WebSocket), or in
    // the AUTH_COOKIE cookie of a page this server trusts; verified before the upgrade, a bad
    // one then closed with 4001 as 002 documents. Sends carry files as base64 (000/001/002).
    const preValidation = socketHandshake(ctx, { firstFrame: false });
    app.get('/ws', { websocket: true, preValidation, schema: { hide: true, querystring: SocketQuery } }, (socket, req) => {
      const q = req.query as { token?: string; room_id?: string; last_seq?: string; last_change_seq?: string; epoch?: string };
      SocketSession.accept<ChatSocketState>(ctx, socket, req, {
        renderer,
        texts,
        files: true,
        closeCodes,
        initialState: () => ({ room: null }),
        handlers,
        writes: CHAT_WRITE_FRAMES,
        sends: ['send_message'],
        async ready(conn) {
          // The documents' ChatClient built without a room sends room_id=null (or undefined): no room.
          if (q.room_id === undefined || q.room_id === '' || q.room_id === 'null' || q.room_id === 'undefined') return;
          const room = /^\d+$/.test(q.room_id) ? Number(q.room_id) : NaN;
          const count = (v: string | undefined) => (v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined);
          try {
            if (!Number.isSafeInteger(room)) throw new Error('bad room id');
            await followRoom(ctx, conn, room, count(q.last_seq), count(q.last_change_seq), q.epoch);
          } catch {
            conn.close(CloseCodes.notAllowed, 'Room not found');
          }
        },
      });
    });
  };
}
