import type { DialectContext, DialectScope } from '../dialect.js';
import { userKey } from '../shared/auth.js';
import { render004 } from './render.js';
import { onlineFriends } from './socket.js';
import { AnyMessageParams, HistoryParams, HistoryQuery, MessageUuidParams, SendBody } from './schemas.js';
import { TAGS, TEXTS, errorsShown, example, operation, shown } from '../../http/api-docs.js';
import { DIRECT_MESSAGE, FRIEND_IDS } from './examples.js';

// Document 004's REST half: friends-only direct messages with sent/delivered/read status.
// The friend rule is the core's (requireFriendship); this file only chooses it, parses and renders.

/** Document 004's REST routes under /api/v1/chat, and the DELETE it shares with 002. */
export function friendsRest(ctx: DialectContext, app: DialectScope) {
  const { core } = ctx;
  // Bodies are rendered by hand (a rendering may add fields): shown in /docs, never filtered by a schema.
  const docs = (id: string, summary: string, description: string, ok: object, ...errors: { detail: string }[]) =>
    operation({
      tag: TAGS.direct,
      id: `direct${id}`,
      summary,
      description: `${description} As in document 004. ${TEXTS.bearer}`,
      responses: { 200: ok, ...errorsShown(TEXTS.notAuthenticated, ...errors) },
    });
  const notFriends = { detail: 'You can only send messages to your friends' };

  app.post('/messages/', { schema: {
    ...docs(
      'SendMessage',
      'Send message',
      'Sends a message to a friend (receiver_id: their uuid or id); both sides\' sockets get it at once. A retry with the same local_temp_id returns the original message.',
      shown('The message', DIRECT_MESSAGE),
      notFriends,
    ),
    body: example(SendBody, 'To whom, and what', { receiver_id: FRIEND_IDS.friend, content: 'Message content' }),
  } }, async (req) => {
    const view = await core.conversations.openDirect(req.user, userKey(req.body.receiver_id), { requireFriendship: true });
    const { message } = await core.messages.send(req.user, {
      conversation: view.conversation.id,
      kind: 'text',
      content: req.body.content,
      clientId: req.body.local_temp_id ?? null,
      requireFriendship: true,
    });
    return render004(await core.conversations.view(req.user, view.conversation.id), message, message.clientId);
  });

  app.get('/messages/history/:friend_id', { schema: {
    ...docs(
      'GetHistory',
      'Get chat history',
      'Messages with a friend, newest first: skip and limit (default 50, at most 100) page through them.',
      shown('A page of messages', { messages: [{ ...DIRECT_MESSAGE, status: 'read', read_at: '2024-01-01T12:05:00Z' }], total: 150, skip: 0, limit: 50 }),
    ),
    params: HistoryParams,
    querystring: HistoryQuery,
  } }, async (req) => {
    const skip = req.query.skip ?? 0;
    const limit = req.query.limit ?? 50;
    const { view } = await core.conversations.findDirect(req.user, userKey(req.params.friend_id));
    if (!view) return { messages: [], total: 0, skip, limit };
    const page = await core.messages.window(req.user, view.conversation.id, skip, limit);
    return { messages: page.messages.map((m) => render004(view, m)), total: page.total, skip, limit };
  });

  app.put('/messages/:message_id/read', { schema: {
    ...docs('MarkRead', 'Mark message as read', 'Marks a message I received (and every one before it) read; the sender gets message_read.', shown('The message, read', { ...DIRECT_MESSAGE, status: 'read', read_at: '2024-01-01T12:05:00Z' }), TEXTS.messageNotFound),
    params: MessageUuidParams,
  } }, async (req) => {
    const message = await core.messages.markReadThrough(req.user, req.params.message_id);
    return render004(await core.conversations.view(req.user, message.conversationId), message);
  });

  app.get('/messages/unread-count', { schema: { ...docs('UnreadCount', 'Get unread message count', 'Unread direct messages, all friends together.', shown('The count', { unread_count: 5 })) } }, async (req) => {
    const rooms = await core.conversations.list(req.user);
    return { unread_count: rooms.filter((r) => r.conversation.kind === 'direct').reduce((n, r) => n + r.unreadCount, 0) };
  });

  app.get('/friends/online', { schema: { ...docs('OnlineFriends', 'Get online friends', 'The uuids of my friends online now.', shown('Online friends', { online_friends: [FRIEND_IDS.friend] })) } }, async (req) => {
    return { online_friends: await onlineFriends(ctx, req.user) };
  });

  // 002 and 004 both define it: digits are a 002 message id, a UUID a 004 one; one soft delete.
  const deleteDocs = operation({
    tag: TAGS.rooms,
    id: 'roomsDeleteMessage',
    summary: 'Delete message (002 and 004)',
    description:
      'Soft-deletes my message: an integer message_id is a document 002 message, a UUID a document 004 one (only the sender may delete). ' +
      `The message stays in the history as deleted; the other side's socket is told. ${TEXTS.bearer}`,
    responses: { 200: shown('Deleted', { status: 'success', message: 'Message deleted' }), ...errorsShown(TEXTS.notAuthenticated, TEXTS.messageNotFound) },
  });
  app.delete('/messages/:message_id', { schema: { ...deleteDocs, tags: [TAGS.rooms, TAGS.direct], params: AnyMessageParams } }, async (req) => {
    const id = req.params.message_id;
    await ctx.core.messages.delete(req.user, /^\d+$/.test(id) ? Number(id) : id);
    return { status: 'success', message: 'Message deleted' };
  });
}
