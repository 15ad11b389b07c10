import { Type } from '@sinclair/typebox';

// Document 004's shapes (friends, message status, UUIDs). 002's shapes are /api/chat's (see routes.ts).

const UserRef = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 1 })]);

export const SendBody = Type.Object({
  receiver_id: UserRef,
  content: Type.String({ minLength: 1 }),
  local_temp_id: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
});

export const HistoryParams = Type.Object({ friend_id: Type.String({ minLength: 1, maxLength: 64, description: "The friend's uuid (or integer id)" }) });
export const HistoryQuery = Type.Object({
  skip: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Newest messages to skip' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Messages to return' })),
});

export const MessageUuidParams = Type.Object({ message_id: Type.String({ format: 'uuid', description: 'The message id (uuid)' }) });
/** One DELETE route for both documents: an integer is a 002 message id, a UUID a 004 one. */
export const AnyMessageParams = Type.Object({
  message_id: Type.Union([Type.String({ pattern: '^[0-9]+$', maxLength: 18 }), Type.String({ format: 'uuid' })], {
    description: 'A document 002 message id (digits) or a document 004 one (uuid)',
  }),
});

export const SocketQuery = Type.Object({ token: Type.Optional(Type.String()) });

// Frames (flat, as the document shows them; a {type, data:{…}} envelope is accepted too).
export const SendFrame = Type.Object({
  receiver_id: UserRef,
  content: Type.String(),
  local_temp_id: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Number(), Type.Null()])),
});
export const MarkReadFrame = Type.Object({ message_id: Type.String({ minLength: 1, maxLength: 64 }) });
export const TypingFrame = Type.Object({ receiver_id: UserRef, is_typing: Type.Boolean() });
