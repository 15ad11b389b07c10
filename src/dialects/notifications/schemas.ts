import { Type } from '@sinclair/typebox';

// Document 003's shapes: UUIDs everywhere, trailing slashes, flat socket frames.

const Uuid = Type.String({ format: 'uuid' });
const UserRef = Type.Union([Uuid, Type.Integer({ minimum: 1 })]);
const Role = Type.Union([Type.Literal('admin'), Type.Literal('moderator'), Type.Literal('member')]);
const Kind = Type.Union([Type.Literal('direct'), Type.Literal('group'), Type.Literal('channel')]);
const MessageType = Type.Union(['text', 'emoji', 'file', 'image', 'voice'].map((k) => Type.Literal(k)) as [ReturnType<typeof Type.Literal>]);

const ConversationId = Type.String({ format: 'uuid', description: 'The conversation id (uuid)' });
const MessageId = Type.String({ format: 'uuid', description: 'The message id (uuid)' });
export const ConversationParams = Type.Object({ id: ConversationId });
export const ConversationChildParams = Type.Object({ conversation_id: ConversationId });
export const MessageParams = Type.Object({ conversation_id: ConversationId, id: MessageId });
export const ParticipantParams = Type.Object({ conversation_id: ConversationId, user_id: Type.String({ minLength: 1, maxLength: 64, description: 'The user: uuid (or integer id)' }) });
export const ReactionParams = Type.Object({ message_id: MessageId });

export const CreateConversationBody = Type.Object({
  title: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  conversation_type: Kind,
  participant_ids: Type.Optional(Type.Array(UserRef, { maxItems: 1000 })),
});

export const UpdateConversationBody = Type.Object({
  title: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
});

export const AddParticipantBody = Type.Object({ user_id: UserRef, role: Type.Optional(Role) });
export const UpdateParticipantBody = Type.Object({ role: Role });

export const SendMessageBody = Type.Object({
  message_type: Type.Optional(MessageType),
  content: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  reply_to: Type.Optional(Type.Union([Uuid, Type.Null()])),
  file_url: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()])),
  file_name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  file_size: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  local_temp_id: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
});

export const UpdateMessageBody = Type.Object({ content: Type.String() });

export const MessagesQuery = Type.Object({
  /** Newest first; `before_seq` pages back (Parley's cursor; no OFFSET). */
  before_seq: Type.Optional(Type.Integer({ minimum: 1, description: 'Only messages older than this seq (the next_before_seq of the previous page)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Messages per page' })),
});

export const ReactionBody = Type.Object({ emoji: Type.String({ minLength: 1, maxLength: 64 }) });
export const ReactionQuery = Type.Object({ emoji: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The emoji to take back' })) });

export const PresenceBody = Type.Object({
  status: Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('offline')]),
  current_conversation: Type.Optional(Type.Union([Uuid, Type.Null()])),
});

export const SocketParams = Type.Object({ tenant_id: Type.String({ minLength: 1, maxLength: 64 }) });

// Frames
export const ConversationFrame = Type.Object({ conversation_id: Uuid });
export const SendFrame = Type.Object({
  conversation_id: Uuid,
  content: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  message_type: Type.Optional(MessageType),
  reply_to: Type.Optional(Type.Union([Uuid, Type.Null()])),
  local_temp_id: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Number(), Type.Null()])),
  file_url: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()])),
  file_name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  file_size: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
});
export const ReactionFrame = Type.Object({ message_id: Uuid, emoji: Type.String({ minLength: 1, maxLength: 64 }) });
export const PresenceFrame = Type.Object({
  status: Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('offline')]),
  current_conversation: Type.Optional(Type.Union([Uuid, Type.Null()])),
});
