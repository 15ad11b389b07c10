import { flatFrame, type SocketDoc } from '../shared/asyncapi.js';
import { DIRECT_MESSAGE, FRIEND_IDS } from './examples.js';
import { MarkReadFrame, SendFrame, TypingFrame } from './schemas.js';

const { me, friend } = FRIEND_IDS;

/** /api/v1/chat/ws/chat: document 004's socket, every direct message of the user (friends only). */
export const directSocketDoc: SocketDoc = {
  id: 'direct',
  operationPrefix: 'direct_',
  address: '/api/v1/chat/ws/chat',
  title: 'Direct-messages socket of document 004',
  description:
    'ws://host/api/v1/chat/ws/chat?token=<jwt>: every direct message of the user, friends only. A bad token is refused before the upgrade ' +
    '(HTTP 401; 403 for a user not found or inactive). Frames are flat ({"type", …}); a {"type", "data": {…}} envelope is accepted too.',
  query: { token: 'JWT (required)' },
  client: {
    send_message: {
      summary: 'Send a message to a friend. Answered by message_sent (the ack, after the commit); the friend gets new_message.',
      payload: flatFrame('send_message', SendFrame),
      examples: [{ type: 'send_message', receiver_id: friend, content: 'Message content' }],
    },
    mark_read: { summary: 'Mark a received message (and the ones before it) read.', payload: flatFrame('mark_read', MarkReadFrame), examples: [{ type: 'mark_read', message_id: DIRECT_MESSAGE.message_id }] },
    typing: { summary: 'Typing started or stopped, shown to that friend.', payload: flatFrame('typing', TypingFrame), examples: [{ type: 'typing', receiver_id: friend, is_typing: true }] },
    ping: { summary: 'Answered with pong.', examples: [{ type: 'ping' }] },
  },
  server: {
    connection_established: { summary: 'First frame: the socket is authenticated.', examples: [{ type: 'connection_established', user_id: me, message: 'Connected to chat server' }] },
    online_friends: { summary: 'Second frame: the friends online now.', examples: [{ type: 'online_friends', friends: [friend] }] },
    new_message: { summary: 'A message from a friend (or your own, sent from another device).', examples: [{ type: 'new_message', message: { ...DIRECT_MESSAGE, status: 'delivered' } }] },
    message_sent: {
      summary: 'The ack of your send_message, after the commit (local_temp_id and seq are Parley additions).',
      examples: [{ type: 'message_sent', message_id: DIRECT_MESSAGE.message_id, status: 'sent', local_temp_id: 'temp_123', seq: 42 }],
    },
    message_updated: { summary: 'A message as it is now, after an edit.', examples: [{ type: 'message_updated', message: { ...DIRECT_MESSAGE, content: 'Edited content' } }] },
    message_deleted: { summary: 'A message was deleted (soft delete).', examples: [{ type: 'message_deleted', message_id: DIRECT_MESSAGE.message_id }] },
    message_read: { summary: 'Your friend read your messages up to message_id.', examples: [{ type: 'message_read', message_id: DIRECT_MESSAGE.message_id, read_by: friend, read_seq: 42 }] },
    typing_indicator: { summary: 'A friend started or stopped typing to you.', examples: [{ type: 'typing_indicator', user_id: friend, is_typing: true }] },
    error: { summary: 'A frame was refused; nothing changed. The socket stays open.', examples: [{ type: 'error', message: 'You can only send messages to your friends', code: 'not_friends' }] },
    pong: { summary: 'Answer to ping.', examples: [{ type: 'pong' }] },
  },
};
