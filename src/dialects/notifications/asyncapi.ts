import { flatFrame, type SocketDoc } from '../shared/asyncapi.js';
import { IDS, MESSAGE_003, PARTICIPANT_003, REACTION_003 } from './examples.js';
import { ConversationFrame, PresenceFrame, ReactionFrame, SendFrame } from './schemas.js';

const { conversation, message, me, other, tenant } = IDS;

/** /ws/chat/{tenant_id}/: document 003's socket. */
export const notificationsSocketDoc: SocketDoc = {
  id: 'notifications',
  operationPrefix: 'notifications_',
  address: '/ws/chat/{tenant_id}/',
  title: 'Conversations socket of document 003',
  description:
    'ws://host/ws/chat/{tenant_id}/: the JWT goes in ?token=, the Authorization header, the AUTH_COOKIE cookie of a trusted page, or an `authenticate` ' +
    'first frame. Follows the conversations joined with join_conversation, plus `mention` events. Frames are flat ({"type", …}) as the document\'s ' +
    'examples show; the {"type", "data": {…}} envelope is accepted too. Another tenant than the token\'s: closed with 4003.',
  parameters: { tenant_id: { description: "The tenant's UUID (the token's tenant)" } },
  query: { token: 'JWT (or the Authorization header, the AUTH_COOKIE cookie, or an authenticate first frame)' },
  client: {
    authenticate: {
      summary: 'Authenticate a socket opened without a token (first frame); on an authenticated socket, confirms the same user. Answered by authenticated.',
      examples: [{ type: 'authenticate', token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…' }],
    },
    join_conversation: { summary: 'Follow a conversation you are in. Answered by conversation_joined.', payload: flatFrame('join_conversation', ConversationFrame), examples: [{ type: 'join_conversation', conversation_id: conversation }] },
    leave_conversation: { summary: 'Stop following a conversation. Answered by conversation_left.', payload: flatFrame('leave_conversation', ConversationFrame), examples: [{ type: 'leave_conversation', conversation_id: conversation }] },
    send_message: {
      summary: 'Send a message (the ack is your own new_message, carrying local_temp_id).',
      payload: flatFrame('send_message', SendFrame),
      examples: [{ type: 'send_message', conversation_id: conversation, content: 'Hello world!', message_type: 'text' }],
    },
    start_typing: { summary: 'Typing started (expires on its own).', payload: flatFrame('start_typing', ConversationFrame), examples: [{ type: 'start_typing', conversation_id: conversation }] },
    stop_typing: { summary: 'Typing stopped.', payload: flatFrame('stop_typing', ConversationFrame), examples: [{ type: 'stop_typing', conversation_id: conversation }] },
    add_reaction: { summary: 'React to a message.', payload: flatFrame('add_reaction', ReactionFrame), examples: [{ type: 'add_reaction', message_id: message, emoji: '👍' }] },
    remove_reaction: { summary: 'Take a reaction back.', payload: flatFrame('remove_reaction', ReactionFrame), examples: [{ type: 'remove_reaction', message_id: message, emoji: '👍' }] },
    mark_read: { summary: 'Mark the conversation read.', payload: flatFrame('mark_read', ConversationFrame), examples: [{ type: 'mark_read', conversation_id: conversation }] },
    update_presence: { summary: 'Set your presence status (and the conversation you are looking at).', payload: flatFrame('update_presence', PresenceFrame), examples: [{ type: 'update_presence', status: 'away' }] },
    ping: { summary: 'Answered with pong.', examples: [{ type: 'ping' }] },
  },
  server: {
    connection_established: {
      summary: 'First frame once the socket is authenticated.',
      examples: [{ type: 'connection_established', message: 'Connected to chat service', user_id: me, tenant_id: tenant, timestamp: '2024-01-01T12:00:00Z' }],
    },
    authenticated: { summary: 'Answer to authenticate.', examples: [{ type: 'authenticated', user_id: me }] },
    conversation_joined: { summary: 'Answer to join_conversation.', examples: [{ type: 'conversation_joined', conversation_id: conversation }] },
    conversation_left: { summary: 'Answer to leave_conversation.', examples: [{ type: 'conversation_left', conversation_id: conversation }] },
    new_message: { summary: 'A new message in a followed conversation (for its sender: the ack, with local_temp_id).', examples: [{ type: 'new_message', conversation_id: conversation, message: { ...MESSAGE_003, local_temp_id: 'temp_123' } }] },
    message_updated: { summary: 'A message as it is now, after an edit.', examples: [{ type: 'message_updated', conversation_id: conversation, message: { ...MESSAGE_003, content: 'Hello world!', edited_at: '2024-01-01T12:05:00Z' } }] },
    message_deleted: { summary: 'A message was deleted.', examples: [{ type: 'message_deleted', conversation_id: conversation, message_id: message }] },
    reaction_added: { summary: 'Someone reacted to a message.', examples: [{ type: 'reaction_added', conversation_id: conversation, reaction: REACTION_003 }] },
    reaction_removed: { summary: 'Someone took a reaction back.', examples: [{ type: 'reaction_removed', conversation_id: conversation, reaction: REACTION_003 }] },
    typing_indicator: { summary: 'Someone started or stopped typing.', examples: [{ type: 'typing_indicator', conversation_id: conversation, user_id: other, is_typing: true }] },
    message_read: { summary: 'Someone read the conversation up to message_id.', examples: [{ type: 'message_read', conversation_id: conversation, user_id: other, message_id: message, read_seq: 42 }] },
    presence_update: { summary: 'Presence of someone you share a conversation with.', examples: [{ type: 'presence_update', user_id: other, status: 'away', is_online: true, last_seen: '2024-01-01T12:00:00Z' }] },
    mention: { summary: 'You were mentioned (whether or not you follow the conversation).', examples: [{ type: 'mention', conversation_id: conversation, message: { ...MESSAGE_003, content: '@John Doe have a look' } }] },
    conversation_created: { summary: 'You are in a new conversation.', examples: [{ type: 'conversation_created', conversation_id: conversation, conversation_type: 'group' }] },
    conversation_updated: { summary: 'A conversation was renamed.', examples: [{ type: 'conversation_updated', conversation_id: conversation, title: 'Project Team Chat' }] },
    conversation_deleted: { summary: 'A conversation was deleted.', examples: [{ type: 'conversation_deleted', conversation_id: conversation }] },
    participant_added: { summary: 'Someone joined a conversation.', examples: [{ type: 'participant_added', conversation_id: conversation, user: PARTICIPANT_003.user, role: 'member' }] },
    participant_removed: { summary: 'Someone left a conversation or was removed.', examples: [{ type: 'participant_removed', conversation_id: conversation, user: PARTICIPANT_003.user }] },
    participant_role_changed: { summary: "Someone's role changed.", examples: [{ type: 'participant_role_changed', conversation_id: conversation, user: PARTICIPANT_003.user, role: 'moderator' }] },
    error: { summary: 'A frame was refused; nothing changed. The socket stays open.', examples: [{ type: 'error', message: 'Conversation not found', code: 'conversation_not_found' }] },
    pong: { summary: 'Answer to ping.', examples: [{ type: 'pong' }] },
  },
};
