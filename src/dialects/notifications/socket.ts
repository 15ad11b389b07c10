import type { DomainEvent } from '../../core/events.js';
import { refusal } from '../../core/errors.js';
import { fileKeyFromReference } from '../shared/static-files.js';
import { NOTIFICATIONS_POLICY } from './file-policy.js';
import type { MessageKind, User, UserSummary } from '../../core/model.js';
import type { EventRenderer } from '../../delivery/connection.js';
import type { DialectContext, DialectScope, DialectWords } from '../dialect.js';
import { socketHandshake } from '../shared/admission.js';
import { FrameError, frameValidators } from '../shared/frames.js';
import { SocketNotAllowed, SocketSession, type FrameHandler } from '../shared/socket.js';
import { iso } from '../shared/time.js';
import { toOthers, variantKeys } from '../shared/variants.js';
import { renderMessage003, user003, type Ctx } from './render.js';
import { ConversationFrame, PresenceFrame, ReactionFrame, SendFrame, SocketParams } from './schemas.js';

type Conn = Parameters<FrameHandler<null>>[0];

/** How /ws/chat/{tenant_id}/ shows events: joined conversations, plus the user's own (mentions, presence). */
export function notificationsRenderer(ctx: Ctx): EventRenderer<null> {
  const msg = (e: Extract<DomainEvent, { message: unknown }>, localTempId: string | null = null) => {
    const known = new Map<number, UserSummary>([[e.sender.id, e.sender]]);
    if ('user' in e && e.user) known.set(e.user.id, e.user as UserSummary);
    return renderMessage003(ctx, e.message, e.conversation.uuid, e.sender, (id) => known.get(id), localTempId);
  };
  return {
    name: 'notifications',
    key: variantKeys(
      {
        typing: toOthers('t'),
        presence: toOthers('p'),
        'receipt.delivered': null,
        'session.revoked': null,
        // Parley's own (issue 18): document 003 has no frame for them.
        'message.hidden': null,
        'message.pinned': null,
        'unread.changed': null,
        'thread.changed': null,
      },
      'x',
    ),
    frame(e) {
      switch (e.type) {
        case 'message.created':
          return JSON.stringify({ type: 'new_message', conversation_id: e.conversation.uuid, message: msg(e, e.localTempId) });
        case 'message.updated':
          return JSON.stringify({ type: 'message_updated', conversation_id: e.conversation.uuid, message: msg(e) });
        case 'message.deleted':
          return JSON.stringify({ type: 'message_deleted', conversation_id: e.conversation.uuid, message_id: e.message.uuid });
        case 'reaction.added':
        case 'reaction.removed':
          return JSON.stringify({
            type: e.type === 'reaction.added' ? 'reaction_added' : 'reaction_removed',
            conversation_id: e.conversation.uuid,
            reaction: { message_id: e.message.uuid, user_id: e.user.uuid, emoji: e.emoji, created_at: iso(e.at) },
          });
        case 'typing':
          return JSON.stringify({ type: 'typing_indicator', conversation_id: e.conversation.uuid, user_id: e.user.uuid, is_typing: e.isTyping });
        case 'receipt.read':
          return JSON.stringify({ type: 'message_read', conversation_id: e.conversation.uuid, user_id: e.user.uuid, message_id: e.upTo?.uuid ?? null, read_seq: e.readSeq });
        case 'presence':
          return JSON.stringify({ type: 'presence_update', user_id: e.user.uuid, status: e.status, is_online: e.isOnline, last_seen: iso(e.lastSeen) });
        case 'mention':
          return JSON.stringify({ type: 'mention', conversation_id: e.conversation.uuid, message: msg(e) });
        case 'conversation.created':
          return JSON.stringify({ type: 'conversation_created', conversation_id: e.conversation.uuid, conversation_type: e.conversation.kind });
        case 'conversation.updated':
          return JSON.stringify({ type: 'conversation_updated', conversation_id: e.conversation.uuid, title: e.title });
        case 'conversation.deleted':
          return JSON.stringify({ type: 'conversation_deleted', conversation_id: e.conversation.uuid });
        case 'participant.added':
        case 'participant.removed':
        case 'participant.role':
          return JSON.stringify({
            type: e.type === 'participant.added' ? 'participant_added' : e.type === 'participant.removed' ? 'participant_removed' : 'participant_role_changed',
            conversation_id: e.conversation.uuid,
            user: user003(e.user),
            ...('role' in e ? { role: e.role } : {}),
          });
        default:
          return '';
      }
    },
  };
}


const { conversationFrame, sendFrame, reactionFrame, presenceFrame } = frameValidators({
  conversationFrame: ConversationFrame,
  sendFrame: SendFrame,
  reactionFrame: ReactionFrame,
  presenceFrame: PresenceFrame,
});

/** Sends a 003 message (REST and socket): text, or a file uploaded before through upload/. */
export async function send003(
  ctx: DialectContext,
  user: User,
  conversation: string,
  d: { content?: string | null; message_type?: string; reply_to?: string | null; local_temp_id?: string | number | null; file_url?: string | null },
  origin?: string,
  ordered?: () => void,
) {
  const input = {
    conversation,
    kind: (d.message_type ?? 'text') as MessageKind,
    content: d.content ?? null,
    replyTo: d.reply_to ?? null,
    clientId: d.local_temp_id == null ? null : String(d.local_temp_id),
  };
  if (d.file_url) {
    const key = fileKeyFromReference(d.file_url);
    if (!key) throw refusal('file_url_unknown');
    return ctx.core.messages.send(user, { ...input, files: await ctx.core.files.prepare(user, input, [{ source: 'upload', key }], NOTIFICATIONS_POLICY) }, origin, ordered);
  }
  return ctx.core.messages.send(user, input, origin, ordered);
}

/** The frames that change stored state (reactions, read marks, presence): the user's write budget. */
const NOTIFICATIONS_WRITE_FRAMES = ['add_reaction', 'remove_reaction', 'mark_read', 'update_presence'];

function handlers(ctx: DialectContext): Record<string, FrameHandler<null>> {
  const { core } = ctx;
  const joined = async (conn: Conn, conversation: string) => {
    const { conversation: c } = await core.conversations.access(conn.user, conversation);
    await ctx.hub.join(conn, c.id, c);
    return c;
  };
  return {
    async authenticate(conn, frame) {
      // Authenticated by the handshake already (query, header or cookie): a token sent now
      // must name the same user, or a page would talk as whoever its cookie says.
      if (typeof frame.token === 'string' && (await core.accounts.authenticate(frame.token)).id !== conn.user.id) {
        throw new FrameError('This connection is authenticated as another user');
      }
      conn.send(JSON.stringify({ type: 'authenticated', user_id: conn.user.uuid }));
    },
    async join_conversation(conn, frame) {
      const c = await joined(conn, conversationFrame.flat(frame).conversation_id);
      conn.send(JSON.stringify({ type: 'conversation_joined', conversation_id: c.uuid }));
    },
    async leave_conversation(conn, frame) {
      const { conversation } = await core.conversations.access(conn.user, conversationFrame.flat(frame).conversation_id);
      ctx.hub.leave(conn, conversation.id);
      conn.send(JSON.stringify({ type: 'conversation_left', conversation_id: conversation.uuid }));
    },
    async send_message(conn, frame, ordered) {
      const d = sendFrame.flat(frame);
      await send003(ctx, conn.user, d.conversation_id, { ...d, message_type: d.message_type as string | undefined }, conn.id, ordered);
    },
    async start_typing(conn, frame) {
      await core.presence.typing(conn.user, conversationFrame.flat(frame).conversation_id, true);
    },
    async stop_typing(conn, frame) {
      await core.presence.typing(conn.user, conversationFrame.flat(frame).conversation_id, false);
    },
    async add_reaction(conn, frame) {
      const d = reactionFrame.flat(frame);
      await core.messages.react(conn.user, d.message_id, d.emoji, true);
    },
    async remove_reaction(conn, frame) {
      const d = reactionFrame.flat(frame);
      await core.messages.react(conn.user, d.message_id, d.emoji, false);
    },
    async mark_read(conn, frame) {
      await core.conversations.markRead(conn.user, conversationFrame.flat(frame).conversation_id);
    },
    async update_presence(conn, frame) {
      const d = presenceFrame.flat(frame);
      // As PUT presence/me/: where the user is, then the status.
      if (d.current_conversation !== undefined) await core.presence.setCurrentConversation(conn.user, d.current_conversation);
      await core.presence.setStatus(conn.user, d.status);
    },
    async ping(conn) {
      conn.send('{"type":"pong"}');
    },
  };
}

/**
 * /ws/chat/{tenant_id}/: the JWT in the `token` query parameter, the Authorization header,
 * the AUTH_COOKIE cookie (the document's React client sends no token of its own), or a first
 * {"type":"authenticate","token":…} frame. A token of another tenant closes 4003.
 */
export function notificationsSocket(ctx: DialectContext, app: DialectScope, { texts, closeCodes }: DialectWords) {
  const renderer = notificationsRenderer(ctx);
  const frameHandlers = handlers(ctx);
  const preValidation = socketHandshake(ctx, { firstFrame: true });
  app.get('/ws/chat/:tenant_id/', { websocket: true, preValidation, schema: { hide: true, params: SocketParams } }, (socket, req) => {
    const tenant = (req.params as { tenant_id: string }).tenant_id;
    SocketSession.accept<null>(ctx, socket, req, {
      renderer,
      texts,
      firstFrameToken: (first) => (first?.type === 'authenticate' && typeof first.token === 'string' ? first.token : undefined),
      admit(user) {
        if (user.tenantUuid !== tenant.toLowerCase()) throw new SocketNotAllowed();
      },
      closeCodes,
      initialState: () => null,
      handlers: frameHandlers,
      writes: NOTIFICATIONS_WRITE_FRAMES,
      sends: ['send_message'],
      async ready(conn) {
        conn.send(
          JSON.stringify({
            type: 'connection_established',
            message: 'Connected to chat service',
            user_id: conn.user.uuid,
            tenant_id: conn.user.tenantUuid,
            timestamp: new Date().toISOString(),
          }),
        );
      },
    });
  });
}
