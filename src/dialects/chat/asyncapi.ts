import { envelopedFrame as enveloped, type FrameDoc, type SocketDoc } from '../shared/asyncapi.js';
import { CHAT_FILE_MESSAGE, CHAT_MESSAGE } from './examples.js';
import { JoinRoomData, LikeData, MarkReadData, SendMessageData, TypingData } from './schemas.js';

const CLIENT: Record<string, FrameDoc> = {
  send_message: {
    summary: 'Send a message to the room (room_id, or the room joined; receiver_id alone opens the direct room). Files travel base64 in `files_data` (001) or the single-file keys (000, 002); the ack is your own `new_message`, carrying local_temp_id.',
    payload: enveloped('send_message', SendMessageData),
    examples: [
      { type: 'send_message', data: { room_id: 1, receiver_id: 2, message_type: 'text', content: 'Hello, how are you?' } },
      {
        type: 'send_message',
        data: {
          room_id: 1,
          receiver_id: 2,
          message_type: 'image',
          content: 'Check out this image!',
          local_temp_id: 'temp_123',
          files_data: [{ file_data: 'base64_encoded_file_data', file_name: 'photo1.jpg', file_size: 1024000, mime_type: 'image/jpeg', duration: null }],
        },
      },
      { type: 'send_message', data: { room_id: 1, receiver_id: 2, message_type: 'file', file_data: 'base64_encoded_file_data', file_name: 'document.pdf', file_size: 1024000, mime_type: 'application/pdf' } },
    ],
  },
  typing: { summary: 'Typing started or stopped in the room; expires on its own.', payload: enveloped('typing', TypingData), examples: [{ type: 'typing', data: { room_id: 1, is_typing: true } }] },
  join_room: {
    summary: 'Follow a room (instead of room_id in the URL); with last_seq (and last_change_seq, epoch), first replay what was missed. Answered by room_joined.',
    payload: enveloped('join_room', JoinRoomData),
    examples: [{ type: 'join_room', data: { room_id: 1 } }],
  },
  leave_room: { summary: 'Stop following the room. Answered by room_left.', examples: [{ type: 'leave_room' }, { type: 'leave_room', data: {} }] },
  mark_read: { summary: 'Parley extension: mark the room read (up to seq; default all).', payload: enveloped('mark_read', MarkReadData), examples: [{ type: 'mark_read', data: { room_id: 1 } }] },
  like_message: { summary: 'Parley extension: like a message, or take the like back.', payload: enveloped('like_message', LikeData), examples: [{ type: 'like_message', data: { message_id: 123 } }] },
  ping: { summary: 'Answered with pong.', examples: [{ type: 'ping' }] },
};

function server(updateFrame: string): Record<string, FrameDoc> {
  return {
    new_message: {
      summary: 'A new message in the room (for its sender: the ack, with local_temp_id). `files_data`, `local_temp_id` and `duration` are always present.',
      examples: [{ type: 'new_message', data: { ...CHAT_MESSAGE, local_temp_id: 'temp_123' } }, { type: 'new_message', data: CHAT_FILE_MESSAGE }],
    },
    [updateFrame]: {
      summary: 'A message as it is now, after an edit, a delete or a like.',
      examples: [{ type: updateFrame, data: { ...CHAT_MESSAGE, content: 'Updated message' } }],
    },
    typing: { summary: 'Someone in the room started or stopped typing.', examples: [{ type: 'typing', data: { room_id: 1, user_id: 1, user_name: 'John Doe', is_typing: true, typing_users: [1] } }] },
    presence: {
      summary: 'Someone in the room came online or went offline.',
      examples: [{ type: 'presence', data: { user_id: 1, is_online: true, user_name: 'John Doe', last_seen: '2024-01-21T12:05:00Z' } }],
    },
    message_read: { summary: 'Someone read the room (up to read_seq).', examples: [{ type: 'message_read', data: { room_id: 1, user_id: 1, user_name: 'John Doe', read_seq: 42 } }] },
    room_joined: { summary: 'Answer to join_room: the room is followed from here (epoch: keep it with your cursor).', examples: [{ type: 'room_joined', data: { room_id: 1, epoch: '0192f7a0-1111-7000-8000-00000000e0c4' } }] },
    room_left: { summary: 'Answer to leave_room.', examples: [{ type: 'room_left', data: { room_id: 1 } }] },
    snapshot_required: { summary: 'Too much was missed to replay: reload the room over REST.', examples: [{ type: 'snapshot_required', data: { room_id: 1, missed: 25000 } }] },
    error: { summary: 'A frame was refused; nothing changed. The socket stays open.', examples: [{ type: 'error', message: 'Error description' }, { type: 'error', message: 'Room not found', code: 'conversation_not_found', local_temp_id: 'temp_123' }] },
    pong: { summary: 'Answer to ping.', examples: [{ type: 'pong' }] },
  };
}

const QUERY = {
  token: 'JWT (or the AUTH_COOKIE cookie from a trusted origin); missing or invalid: closed with 4001',
  room_id: 'The room to follow (optional: join_room does it later)',
  last_seq: 'Parley extension: resume room_id after this seq (docs/delivery.md)',
  last_change_seq: 'With last_seq: also replay the edits, deletes and likes after this change_seq',
  epoch: "The history's epoch the cursor was read in (room_joined); another one gets snapshot_required",
};

/** The room sockets: /api/chat/ws (documents 000/001) and /api/v1/chat/ws (002, whose edits are `message_updated`). */
export function chatSocketDoc(variant: 'chat' | 'rooms'): SocketDoc {
  const chat = variant === 'chat';
  return {
    id: variant,
    operationPrefix: `${variant}_`,
    address: chat ? '/api/chat/ws' : '/api/v1/chat/ws',
    title: chat ? 'Rooms socket of documents 000 and 001' : 'Rooms socket of document 002',
    description: chat
      ? 'ws://host/api/chat/ws?token=<jwt>&room_id=<room_id>: the socket of the documents\' ChatClient and React ChatRoom. Frames are {"type", "data"}; sends, typing and room changes go here, history and rooms over REST (/api/chat).'
      : 'ws://host/api/v1/chat/ws?token=<jwt>&room_id=<room_id>: document 002\'s socket (same frames as /api/chat/ws; an edit is `message_updated`). Closes with 4001 for a missing or invalid token, 4000 for another authentication failure.',
    query: QUERY,
    client: CLIENT,
    server: server(chat ? 'message_update' : 'message_updated'),
  };
}
