import { Type } from '@sinclair/typebox';

// Request shapes of documents 000 and 001 (/api/chat), and the frames of their socket.

const Id = Type.Integer({ minimum: 1 });
const TempId = Type.Union([Type.String({ maxLength: 255 }), Type.Number(), Type.Null()]);

export const SearchQuery = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320, description: 'Part of an e-mail address' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Most users answered' })),
});

export const CreateRoomBody = Type.Object({ receiver_id: Id });

export const RoomParams = Type.Object({ room_id: Type.Integer({ minimum: 1, description: 'The room id' }) });
export const MessageParams = Type.Object({ message_id: Type.Integer({ minimum: 1, description: 'The message id' }) });

export const PageQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1, description: 'Page number, 1 is the newest' })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Messages per page' })),
});

/** `content=…` form-encoded as documented; JSON is accepted too. */
export const UpdateMessageBody = Type.Object({ content: Type.String() });

export const SocketQuery = Type.Object({
  token: Type.Optional(Type.String()),
  room_id: Type.Optional(Type.String()),
  /** Parley extension: resume after this seq of room_id (docs/delivery.md). */
  last_seq: Type.Optional(Type.String()),
  /** With last_seq: also replay the edits, deletes and reactions after this change_seq. */
  last_change_seq: Type.Optional(Type.String()),
  /** The history's epoch the cursor was read in (room_joined); another one: snapshot_required. */
  epoch: Type.Optional(Type.String({ maxLength: 64 })),
});

const FileData = Type.Object({
  file_data: Type.Optional(Type.String()),
  /** A file uploaded before (upload-files' `file_path`, or its URL): claimed instead of sent again. */
  file_path: Type.Optional(Type.String()),
  file_name: Type.Optional(Type.String()),
  file_size: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  mime_type: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  duration: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
});

export const SendMessageData = Type.Object({
  room_id: Type.Optional(Type.Union([Id, Type.Null()])),
  receiver_id: Type.Optional(Type.Union([Id, Type.Null()])),
  message_type: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('emoji'), Type.Literal('image'), Type.Literal('file'), Type.Literal('voice')])),
  content: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  local_temp_id: Type.Optional(TempId),
  reply_to: Type.Optional(Type.Union([Id, Type.Null()])),
  // Files (document 000's single-file keys, 001's files_data).
  file_data: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  file_name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  file_size: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  mime_type: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  files_data: Type.Optional(Type.Union([Type.Array(FileData), Type.Null()])),
});

export const TypingData = Type.Object({
  room_id: Type.Optional(Type.Union([Id, Type.Null()])),
  is_typing: Type.Boolean(),
});

export const JoinRoomData = Type.Object({
  room_id: Id,
  last_seq: Type.Optional(Type.Integer({ minimum: 0 })),
  last_change_seq: Type.Optional(Type.Integer({ minimum: 0 })),
  epoch: Type.Optional(Type.String({ maxLength: 64 })),
});

export const MarkReadData = Type.Object({
  room_id: Type.Optional(Type.Union([Id, Type.Null()])),
  seq: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const LikeData = Type.Object({ message_id: Id });
