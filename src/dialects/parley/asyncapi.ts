import type { TSchema } from '@sinclair/typebox';
import type { FrameDoc, SocketDoc } from '../shared/asyncapi.js';
import { plainSchema } from '../shared/asyncapi.js';
import { EXAMPLE, EXAMPLE_CONVERSATION } from './examples.js';
import { ClientFrames, ServerFrames, type ClientFrameType, type ServerFrameType } from './schemas.js';

const { user, other, message } = EXAMPLE;
const conversation = { id: EXAMPLE_CONVERSATION.id, uuid: EXAMPLE_CONVERSATION.uuid, kind: 'group' };

// One example per frame, beside the schemas that validate them (schemas.ts).
const CLIENT_EXAMPLES: Record<ClientFrameType, unknown> = {
  subscribe: { type: 'subscribe', cursors: [{ conversation_id: 7, last_seq: 40, last_change_seq: 55 }], epoch: '0192f7a0-1111-7000-8000-00000000e0c4' },
  send: { type: 'send', conversation_id: 7, kind: 'text', content: 'Hello!', local_temp_id: 'temp_123' },
  edit: { type: 'edit', message_id: 123, content: 'Hello, everyone!' },
  delete: { type: 'delete', message_id: 123 },
  react: { type: 'react', message_id: 123, emoji: '👍', on: true },
  read: { type: 'read', conversation_id: 7, seq: 42 },
  ack: { type: 'ack', conversation_id: 7, seq: 42 },
  typing: { type: 'typing', conversation_id: 7, is_typing: true },
  presence: { type: 'presence', status: 'away' },
  ping: { type: 'ping' },
};

const SERVER_EXAMPLES: Record<ServerFrameType, unknown> = {
  ready: { type: 'ready', user, resume_max: 10000, epoch: '0192f7a0-1111-7000-8000-00000000e0c4' },
  subscribed: { type: 'subscribed', conversations: [{ id: 7, last_seq: 42, change_seq: 57 }], gone: [], epoch: '0192f7a0-1111-7000-8000-00000000e0c4' },
  message: { type: 'message', conversation_id: 7, message },
  message_changed: { type: 'message_changed', conversation_id: 7, change: 'reaction_added', message, user_id: 2, emoji: '👍' },
  read: { type: 'read', conversation_id: 7, user_id: 2, read_seq: 42 },
  unread: { type: 'unread', conversation_id: 7, seen_seq: 39, unread_count: 3, first_unread_seq: 40 },
  thread: { type: 'thread', conversation_id: 7, root_id: 123, read_seq: 45, unread_count: 0, following: true },
  delivered: { type: 'delivered', conversation_id: 7, user_id: 2, delivered_seq: 42 },
  typing: { type: 'typing', conversation_id: 7, user_id: 2, is_typing: true, typing_user_ids: [2] },
  presence: { type: 'presence', user_id: 2, online: false, status: 'offline', last_seen: '2024-01-01T12:05:00.000Z' },
  report_resolved: {
    type: 'report_resolved',
    report: { id: 5, conversation_id: 7, message_id: 123, reporter_id: 2, author_id: 1, reason: 'Spam', state: 'deleted', created_at: '2024-01-01T12:01:00.000Z', resolved_by: 1, resolved_at: '2024-01-01T12:09:00.000Z' },
  },
  mention: { type: 'mention', conversation_id: 7, message: { ...message, content: '@Jane Smith have a look' } },
  conversation_changed: { type: 'conversation_changed', change: 'updated', conversation, title: 'Project Team Chat', visibility: 'public' },
  participant_changed: { type: 'participant_changed', change: 'added', conversation_id: 7, user: other, role: 'member', by: 1 },
  message_hidden: { type: 'message_hidden', conversation_id: 7, message_id: 123 },
  pin_changed: { type: 'pin_changed', conversation_id: 7, change: 'pinned', message_id: 123, by: 1, at: '2024-01-01T12:06:00.000Z' },
  snapshot_required: { type: 'snapshot_required', conversation_id: 7, missed: 25000 },
  error: { type: 'error', code: 'conversation_not_found', message: 'Conversation not found', local_temp_id: 'temp_123' },
  pong: { type: 'pong' },
};

const frames = <K extends string>(schemas: Record<K, TSchema>, examples: Record<K, unknown>): Record<string, FrameDoc> =>
  Object.fromEntries(
    Object.entries<TSchema>(schemas).map(([type, schema]) => [type, { summary: schema.description ?? type, payload: plainSchema(schema), examples: [examples[type as K]] }]),
  );

/** /api/parley/ws, built from the same schemas that validate the frames. */
export const parleySocketDoc: SocketDoc = {
  id: 'parley',
  operationPrefix: '',
  address: '/api/parley/ws',
  title: 'The Parley socket',
  description:
    'Connect to /api/parley/ws?token=JWT (or send {"type":"auth","token":…} first). The server sends `ready`; send `subscribe` ' +
    '(with cursors {conversation_id, last_seq, last_change_seq} after a reconnect) to follow every conversation. ' +
    'Each send carries a local_temp_id; its ack is the `message` frame carrying it, sent after the commit. See docs/delivery.md.',
  query: { token: 'JWT (or Authorization: Bearer, the AUTH_COOKIE cookie from a trusted origin, or an auth frame)' },
  client: {
    // Read by the handshake, not by a frame handler: only as the first frame of a socket opened without a token.
    auth: {
      summary: 'Authenticate a socket opened without a token: the first frame, answered by `ready` (a bad token closes with 4001).',
      payload: { type: 'object', properties: { type: { const: 'auth' }, token: { type: 'string' } }, required: ['type', 'token'] },
      examples: [{ type: 'auth', token: EXAMPLE.token }],
    },
    ...frames(ClientFrames, CLIENT_EXAMPLES),
  },
  server: frames(ServerFrames, SERVER_EXAMPLES),
};
