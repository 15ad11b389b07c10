import type { Static, TSchema } from '@sinclair/typebox';
import { isDomainError } from '../../core/errors.js';
import { PARLEY_POLICY } from './file-policy.js';
import type { SendInput } from '../../core/messages/messages.js';
import type { User } from '../../core/model.js';
import type { EventRenderer } from '../../delivery/connection.js';
import type { DialectContext, DialectScope, DialectWords } from '../dialect.js';
import { inResumeTurn, socketHandshake } from '../shared/admission.js';
import { FrameError, frameValidators, type FrameValidator } from '../shared/frames.js';
import { SocketSession, type FrameHandler } from '../shared/socket.js';
import { bySender, notHiddenFrom, toOthers, variantKeys } from '../shared/variants.js';
import { isoOrNull } from '../shared/time.js';
import { renderMessage, renderReport, renderUser, type Ctx } from './render.js';
import { ClientFrames } from './schemas.js';

type Conn = Parameters<FrameHandler<null>>[0];

const CHANGE: Record<string, string> = {
  'message.updated': 'edited',
  'message.deleted': 'deleted',
  'reaction.added': 'reaction_added',
  'reaction.removed': 'reaction_removed',
};

/** How /api/parley/ws shows domain events (the frames of ServerFrames). */
export function parleyRenderer(ctx: Ctx): EventRenderer<null> {
  return {
    name: 'parley',
    // Delivered means acknowledged by a device (the `ack` frame, sent by the SDK on receipt).
    clientAcks: true,
    key: variantKeys(
      {
        'message.created': bySender,
        typing: toOthers('x'),
        presence: toOthers('x'),
        'session.revoked': null,
        // A message I deleted for myself: nothing more of it reaches me (delete for me).
        'message.updated': notHiddenFrom('x'),
        'message.deleted': notHiddenFrom('x'),
        'reaction.added': notHiddenFrom('x'),
        'reaction.removed': notHiddenFrom('x'),
      },
      'x',
    ),
    frame(e, conn) {
      switch (e.type) {
        case 'message.created':
          return JSON.stringify({
            type: 'message',
            conversation_id: e.conversation.id,
            message: renderMessage(ctx, e.message, e.sender, e.message.senderId === conn.user.id ? e.localTempId : undefined),
          });
        case 'message.updated':
        case 'message.deleted':
        case 'reaction.added':
        case 'reaction.removed':
          return JSON.stringify({
            type: 'message_changed',
            conversation_id: e.conversation.id,
            change: e.replay ? 'replayed' : CHANGE[e.type],
            message: renderMessage(ctx, e.message, e.sender),
            ...('emoji' in e ? { user_id: e.userId, emoji: e.emoji } : {}),
          });
        case 'receipt.read':
          return JSON.stringify({ type: 'read', conversation_id: e.conversation.id, user_id: e.user.id, read_seq: e.readSeq });
        case 'unread.changed':
          return JSON.stringify({ type: 'unread', conversation_id: e.conversationId, seen_seq: e.seenSeq, unread_count: e.unreadCount, first_unread_seq: e.firstUnreadSeq });
        case 'thread.changed':
          return JSON.stringify({ type: 'thread', conversation_id: e.conversationId, root_id: e.rootId, read_seq: e.readSeq, unread_count: e.unreadCount, following: e.following });
        case 'receipt.delivered':
          return JSON.stringify({ type: 'delivered', conversation_id: e.conversation.id, user_id: e.userId, delivered_seq: e.deliveredSeq });
        case 'typing':
          return JSON.stringify({ type: 'typing', conversation_id: e.conversation.id, user_id: e.user.id, is_typing: e.isTyping, typing_user_ids: e.typingUserIds });
        case 'presence':
          return JSON.stringify({ type: 'presence', user_id: e.user.id, online: e.isOnline, status: e.status, last_seen: isoOrNull(e.lastSeen) });
        case 'report.resolved':
          return JSON.stringify({ type: 'report_resolved', report: renderReport(e.report) });
        case 'mention':
          return JSON.stringify({ type: 'mention', conversation_id: e.conversation.id, message: renderMessage(ctx, e.message, e.sender) });
        case 'conversation.created':
        case 'conversation.updated':
        case 'conversation.deleted': {
          const c = e.conversation;
          return JSON.stringify({
            type: 'conversation_changed',
            change: e.type.slice('conversation.'.length),
            conversation: { id: c.id, uuid: c.uuid, kind: c.kind },
            ...('title' in e ? { title: e.title } : {}),
            ...('visibility' in e && e.visibility ? { visibility: e.visibility } : {}),
          });
        }
        case 'message.hidden':
          return JSON.stringify({ type: 'message_hidden', conversation_id: e.conversation.id, message_id: e.messageId });
        case 'message.pinned':
          return JSON.stringify({ type: 'pin_changed', conversation_id: e.conversation.id, change: e.pinned ? 'pinned' : 'unpinned', message_id: e.messageId, by: e.by.id, at: new Date(e.at).toISOString() });
        case 'participant.added':
        case 'participant.removed':
        case 'participant.role':
          return JSON.stringify({
            type: 'participant_changed',
            change: e.type === 'participant.role' ? 'role' : e.type.slice('participant.'.length),
            conversation_id: e.conversation.id,
            user: renderUser(e.user),
            ...('role' in e ? { role: e.role } : {}),
            by: e.by,
          });
        default:
          return '';
      }
    },
  };
}

const V = frameValidators(ClientFrames);

/** A send from the socket or REST: text, or files uploaded before through POST /api/parley/files. */
export async function sendParley(
  ctx: DialectContext,
  user: User,
  d: { conversation_id: number; kind?: SendInput['kind']; content?: string | null; local_temp_id?: string; reply_to_id?: number | null; attachments?: string[]; metadata?: unknown },
  origin?: string,
  ordered?: () => void,
) {
  const files = d.attachments ?? [];
  const input: SendInput = {
    conversation: d.conversation_id,
    // Without a kind, the file service takes it from what the first file turns out to be.
    kind: d.kind ?? 'text',
    content: d.content ?? null,
    clientId: d.local_temp_id ?? null,
    replyTo: d.reply_to_id ?? null,
    metadata: d.metadata,
  };
  if (files.length > 0) input.files = await ctx.core.files.prepare(user, input, files.map((key) => ({ source: 'upload' as const, key })), PARLEY_POLICY);
  return ctx.core.messages.send(user, input, origin, ordered);
}

/** The frames that change stored state (edits, deletes, reactions, read marks, presence): the user's write budget. */
const PARLEY_WRITE_FRAMES = ['edit', 'delete', 'react', 'read', 'presence'];

/** The frames an API key permitted only to read may send: following its conversations, pings. */
const PARLEY_READ_FRAMES = ['subscribe', 'ping'];

function handlers(ctx: DialectContext): Record<string, FrameHandler<null>> {
  const { core, hub } = ctx;
  /** Follows every conversation of the user, each replayed from its cursor (or from where the list shows it). */
  async function subscribe(conn: Conn, d: { epoch?: string }, cursors: Map<number, { last_seq: number; last_change_seq?: number }>): Promise<void> {
    conn.followNew = () => true;
    const followed: { id: number; last_seq: number; change_seq: number }[] = [];
    const gone: number[] = [];
    const listed = await core.conversations.followed(conn.user);
    for (const c of listed) {
      await core.hooks.subscribeJoin?.(c.id);
      // Without a cursor, the conversation as listed is the cursor: what is committed between
      // the list and the join comes in the replay instead of being missed (issue 15 item 3).
      const cursor = cursors.get(c.id) ?? { conversation_id: c.id, last_seq: c.lastSeq, last_change_seq: c.changeSeq };
      try {
        const upTo = await hub.joinWithReplay(
          conn,
          c.id,
          async () => {
            // A cursor given with another epoch (from before a restore) resumes nothing; one the
            // server made up from the list is this epoch's.
            const given = cursors.has(c.id) ? d.epoch : undefined;
            const r = await core.messages.resume(conn.user, c.id, { afterSeq: cursor.last_seq, afterChangeSeq: cursor.last_change_seq, epoch: given });
            if (r.snapshotRequired) {
              conn.send(JSON.stringify({ type: 'snapshot_required', conversation_id: c.id, missed: r.missed }));
              return { events: [], upTo: r.position };
            }
            return { events: r.events, upTo: r.position };
          },
          c,
        );
        // Where the replay's snapshot stood: the live stream goes on from there.
        followed.push({ id: c.id, last_seq: upTo.lastSeq, change_seq: upTo.changeSeq });
      } catch (e) {
        // Deleted, or the user removed, since the list was read: answered as gone, and the
        // rest are still joined (issue 15 item 2: one failure ended the subscribe unanswered).
        if (!isDomainError(e) || e.code !== 'conversation_not_found') throw e;
        gone.push(c.id);
      }
    }
    const ids = new Set(listed.map((c) => c.id));
    for (const id of cursors.keys()) if (!ids.has(id)) gone.push(id);
    conn.send(JSON.stringify({ type: 'subscribed', conversations: followed, gone, epoch: core.messages.epoch ?? '' }));
  }

  return {
    async subscribe(conn: Conn, frame) {
      const d = checked(V.subscribe, frame);
      const cursors = new Map((d.cursors ?? []).map((c) => [c.conversation_id, c]));
      // A resume (with cursors) over RESUME_CONCURRENCY is closed with 1013 and a retry hint.
      if (cursors.size > 0) await inResumeTurn(ctx, conn, () => subscribe(conn, d, cursors));
      else await subscribe(conn, d, cursors);
    },
    send: on(V.send, (conn, d, ordered) => sendParley(ctx, conn.user, d, conn.id, ordered)),
    edit: on(V.edit, (conn, d) => core.messages.edit(conn.user, d.message_id, d.content, d.metadata)),
    delete: on(V.delete, (conn, d) => core.messages.delete(conn.user, d.message_id)),
    react: on(V.react, (conn, d) => core.messages.react(conn.user, d.message_id, d.emoji, d.on)),
    read: on(V.read, (conn, d) => core.conversations.markRead(conn.user, d.conversation_id, d.seq)),
    ack: on(V.ack, (conn, d) => core.receipts.acknowledge(conn.user, d.conversation_id, d.seq)),
    typing: on(V.typing, (conn, d) => core.presence.typing(conn.user, d.conversation_id, d.is_typing)),
    presence: on(V.presence, (conn, d) => core.presence.setStatus(conn.user, d.status)),
    async ping(conn, frame) {
      checked(V.ping, frame);
      conn.send('{"type":"pong"}');
    },
  };
}

/** The frame if it fits its schema (flat: fields beside `type`), else a FrameError (an error frame). */
function checked<S extends TSchema>(v: FrameValidator<S>, frame: Record<string, unknown>): Static<S> {
  const r = v.parse(frame);
  if (!r.ok) throw new FrameError(`Invalid ${String(frame.type)} frame: ${r.error}`);
  return r.value;
}

/** A frame handler that runs on the frame once it fits its schema. */
const on =
  <S extends TSchema>(v: FrameValidator<S>, run: (conn: Conn, d: Static<S>, ordered: () => void) => Promise<unknown>): FrameHandler<null> =>
  async (conn, frame, ordered) => {
    await run(conn, checked(v, frame), ordered);
  };

/**
 * /api/parley/ws: the token in `?token=`, the Authorization header, the AUTH_COOKIE cookie, or
 * a first {"type":"auth","token":…} frame. Then `ready`; the client sends `subscribe` (with its
 * cursors after a reconnect) to follow its conversations.
 */
export function parleySocket(ctx: DialectContext, app: DialectScope, { texts, closeCodes }: DialectWords) {
  const renderer = parleyRenderer(ctx);
  const frameHandlers = handlers(ctx);
  const preValidation = socketHandshake(ctx, { firstFrame: true, apiKeys: true });
  app.get('/ws', { websocket: true, preValidation, schema: { hide: true } }, (socket, req) => {
    SocketSession.accept<null>(ctx, socket, req, {
      renderer,
      firstFrameToken: (first) => (first?.type === 'auth' && typeof first.token === 'string' ? first.token : undefined),
      closeCodes,
      initialState: () => null,
      handlers: frameHandlers,
      texts,
      writes: PARLEY_WRITE_FRAMES,
      sends: ['send'],
      apiKeys: { reads: PARLEY_READ_FRAMES },
      async ready(conn) {
        conn.send(JSON.stringify({ type: 'ready', user: renderUser(conn.user), resume_max: ctx.config.resumeMaxMessages, epoch: ctx.core.messages.epoch ?? '' }));
      },
    });
  });
}
