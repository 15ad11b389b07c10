// Examples of the room APIs (documents 000, 001 and 002), as the documents show them, for
// /docs/json and /docs/asyncapi.json. Parley renders every field shown here (and may add some).

export const JOHN = { id: 1, name: 'John Doe', email: 'john@example.com', avatar_url: 'https://example.com/avatar.jpg', is_online: true };
export const JANE = { id: 2, name: 'Jane Smith', email: 'jane@example.com', avatar_url: 'https://example.com/avatar2.jpg', is_online: false };

/** 001's message (GET …/messages, new_message), with 002's single-file and name keys beside it. */
export const CHAT_MESSAGE = {
  id: 123,
  room_id: 1,
  sender_id: 1,
  receiver_id: 2,
  sender_name: 'John Doe',
  receiver_name: 'Jane Smith',
  sender_avatar: 'https://example.com/avatar.jpg',
  receiver_avatar: 'https://example.com/avatar2.jpg',
  content: 'Hello!',
  message_type: 'text',
  local_temp_id: null,
  files_data: null,
  file_name: null,
  file_path: null,
  file_size: null,
  mime_type: null,
  duration: null,
  created_at: '2024-01-01T12:00:00Z',
  is_read: false,
  is_deleted: false,
  is_sender: true,
  is_liked: false,
  like_count: 0,
  sender_details: JOHN,
  receiver_details: JANE,
};

/** 001's file message: every file in `files_data`, full URLs. */
export const CHAT_FILE_MESSAGE = {
  ...CHAT_MESSAGE,
  id: 124,
  content: 'Here are some photos!',
  message_type: 'image',
  local_temp_id: 'temp_456',
  files_data: [
    {
      file_name: 'photo1.jpg',
      file_path: 'https://api.example.com/static/chat_files/images/user_1_20240101_120000_0_photo1.jpg',
      file_size: 1024000,
      mime_type: 'image/jpeg',
      duration: null,
    },
  ],
  file_name: 'photo1.jpg',
  file_path: 'https://api.example.com/static/chat_files/images/user_1_20240101_120000_0_photo1.jpg',
  file_size: 1024000,
  mime_type: 'image/jpeg',
};

/** 002's room (POST/GET …/rooms). */
export const CHAT_ROOM = {
  id: 1,
  name: 'Direct Chat',
  room_type: 'direct',
  created_by: 1,
  created_at: '2024-01-21T12:00:00Z',
  updated_at: '2024-01-21T12:05:00Z',
  is_active: true,
  other_user: { id: 2, name: 'John Doe', email: 'john@example.com', avatar_url: 'https://example.com/avatar.jpg', is_online: true },
  last_message: { id: 5, content: 'Hello there!', message_type: 'text', created_at: '2024-01-21T12:05:00Z', sender_name: 'John Doe' },
  unread_count: 2,
};

/** 002's message in a room's list (GET …/rooms/{id}, …/messages). */
export const ROOM_MESSAGE = {
  id: 5,
  room_id: 1,
  sender_id: 2,
  receiver_id: 1,
  sender_name: 'John Doe',
  receiver_name: 'Alice Smith',
  sender_avatar: 'https://example.com/john.jpg',
  receiver_avatar: 'https://example.com/alice.jpg',
  message_type: 'text',
  content: 'Hello there!',
  file_name: null,
  file_path: null,
  file_size: null,
  mime_type: null,
  created_at: '2024-01-21T12:05:00Z',
  is_read: false,
  is_deleted: false,
};
