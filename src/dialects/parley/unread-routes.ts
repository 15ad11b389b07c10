import { Type } from '@sinclair/typebox';
import type { ThreadView } from '../../core/threads/threads.js';
import { example, operation, TAGS, TEXTS } from '../../http/api-docs.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { isoOrNull } from '../shared/time.js';
import { EXAMPLE } from './examples.js';
import { renderMessage } from './render.js';
import { ConversationParams, ErrorOut, MarkUnreadBody, MessageParams, ReadBody, ThreadListQuery, ThreadOut, ThreadRepliesOut, ThreadRepliesQuery, UnreadOut } from './schemas.js';

const errors = { '4xx': example(ErrorOut, 'Refused: the reason in `detail`, its code in `code`.', { detail: 'Message not found', code: 'message_not_found' }) };
const docs = (id: string, summary: string, description: string) => operation({ tag: TAGS.parley, id, summary, description: `${description} ${TEXTS.bearer}` });

const EXAMPLE_THREAD = {
  root: { ...EXAMPLE.message, reply_count: 3 },
  conversation_id: EXAMPLE.message.conversation_id,
  read_seq: 45,
  unread_count: 1,
  reply_count: 3,
  last_reply_seq: 47,
  last_reply_at: '2024-01-01T12:30:00.000Z',
  following: true,
};

/** Issue 18: "mark as unread", and threads (read positions, following, the Threads list). */
export function parleyUnreadRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  const thread = (v: ThreadView) => ({
    root: renderMessage(ctx, v.root, v.sender),
    conversation_id: v.state.conversationId,
    read_seq: v.state.readSeq,
    unread_count: v.state.unreadCount,
    reply_count: v.state.replyCount,
    last_reply_seq: v.state.lastReplySeq,
    last_reply_at: isoOrNull(v.state.lastReplyAt),
    following: v.state.following,
  });

  authed.post('/conversations/:id/unread', { schema: {
    ...docs('markUnread', 'Mark as unread', 'Moves my own place back to just before message seq: it and what follows count as unread again, on every device of mine (each gets an unread frame). My read receipt (my_read_seq, what the others see) does not move back.'),
    params: ConversationParams,
    body: example(MarkUnreadBody, 'From which message', { seq: 40 }),
    response: { 200: example(UnreadOut, 'My unread state now', { seen_seq: 39, unread_count: 3, first_unread_seq: 40 }), ...errors },
  } }, async (req) => {
    const s = await core.conversations.markUnread(req.user, req.params.id, req.body.seq);
    return { seen_seq: s.seenSeq, unread_count: s.unreadCount, first_unread_seq: s.firstUnreadSeq };
  });

  authed.get('/threads', { schema: {
    ...docs('listThreads', 'My threads', 'The threads I follow (started, replied in, or followed), latest reply first, each with its unread replies.'),
    querystring: ThreadListQuery,
    response: { 200: example(Type.Array(ThreadOut), 'The threads', [EXAMPLE_THREAD]), ...errors },
  } }, async (req) => (await core.threads.list(req.user, req.query.limit ?? 50)).map(thread));

  authed.get('/messages/:id/thread', { schema: {
    ...docs('getThread', 'A thread', 'The thread of a message (its replies): my place in it, its unread replies, whether I follow it.'),
    params: MessageParams,
    response: { 200: example(ThreadOut, 'The thread', EXAMPLE_THREAD), ...errors },
  } }, async (req) => thread(await core.threads.view(req.user, req.params.id)));

  authed.get('/messages/:id/thread/replies', { schema: {
    ...docs('getThreadReplies', 'Read a thread', 'Replies oldest first, after after_seq; reply with POST /conversations/{id}/messages and reply_to_id.'),
    params: MessageParams,
    querystring: ThreadRepliesQuery,
    response: { 200: example(ThreadRepliesOut, 'The thread and a page of replies', { thread: EXAMPLE_THREAD, replies: [{ ...EXAMPLE.message, id: 124, seq: 47, reply_to_id: EXAMPLE.message.id }], has_more: false }), ...errors },
  } }, async (req) => {
    const limit = req.query.limit ?? 100;
    const { view, replies, senders } = await core.threads.replies(req.user, req.params.id, req.query.after_seq ?? 0, limit + 1);
    const page = replies.slice(0, limit);
    return { thread: thread(view), replies: page.map((m) => renderMessage(ctx, m, senders.get(m.senderId)!)), has_more: replies.length > limit };
  });

  authed.post('/messages/:id/thread/read', { schema: {
    ...docs('markThreadRead', 'Mark a thread read', 'Moves my place in the thread to seq (default: its last reply); it never moves back. My devices get a thread frame.'),
    params: MessageParams,
    body: example(Type.Optional(ReadBody), 'Up to where (optional)', { seq: 47 }),
    response: { 200: example(ThreadOut, 'The thread', { ...EXAMPLE_THREAD, read_seq: 47, unread_count: 0 }), ...errors },
  } }, async (req) => {
    await core.threads.markRead(req.user, req.params.id, req.body?.seq);
    return thread(await core.threads.view(req.user, req.params.id));
  });

  for (const on of [true, false]) {
    const route = {
      schema: {
        ...(on
          ? docs('followThread', 'Follow a thread', 'Puts the thread in my Threads list, read up to its last reply if I had no place in it.')
          : docs('unfollowThread', 'Unfollow a thread', 'Takes the thread off my Threads list (replying in it follows it again).')),
        params: MessageParams,
        response: { 200: example(ThreadOut, 'The thread', { ...EXAMPLE_THREAD, following: on }), ...errors },
      },
    };
    const handler = async (req: { user: Parameters<typeof core.threads.follow>[0]; params: { id: number } }) => {
      await core.threads.follow(req.user, req.params.id, on);
      return thread(await core.threads.view(req.user, req.params.id));
    };
    if (on) authed.put('/messages/:id/thread/follow', route, handler);
    else authed.delete('/messages/:id/thread/follow', route, handler);
  }
}
