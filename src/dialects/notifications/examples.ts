// Examples of document 003 (/api/notifications/chat), as the document shows them with
// Parley's added fields, for /docs/json and /docs/asyncapi.json.

export const IDS = {
  tenant: '0192f7a0-0000-7000-8000-000000000001',
  conversation: '0192f7a0-9abc-7def-8012-3456789abcde',
  message: '0192f7a1-2b3c-7d4e-8f50-617283940a5b',
  me: '0192f7a0-6c1e-7cc4-9a57-5c7e3b1d2a01',
  other: '0192f7a0-6c1e-7cc4-9a57-5c7e3b1d2a02',
} as const;

export const USER_003 = { id: IDS.me, name: 'John Doe', email: 'john@example.com', avatar_url: 'https://example.com/avatar.jpg' };

export const MESSAGE_003 = {
  id: IDS.message,
  conversation: IDS.conversation,
  conversation_id: IDS.conversation,
  seq: 42,
  sender_id: IDS.me,
  sender: USER_003,
  message_type: 'text',
  content: 'Hello everyone! 👋',
  file_url: null,
  file_name: null,
  file_size: null,
  reply_to: null,
  reply_count: 0,
  reactions: [],
  edited_at: null,
  is_deleted: false,
  created_at: '2024-01-01T12:00:00Z',
  local_temp_id: null,
};

export const CONVERSATION_003 = {
  id: IDS.conversation,
  tenant_id: IDS.tenant,
  title: 'Project Team Chat',
  conversation_type: 'group',
  created_by: IDS.me,
  is_active: true,
  participant_count: 1,
  my_role: 'admin',
  last_message: null,
  last_message_at: null,
  unread_count: 0,
  last_seq: 0,
  created_at: '2024-01-01T12:00:00Z',
  updated_at: '2024-01-01T12:00:00Z',
};

export const PARTICIPANT_003 = {
  id: `${IDS.conversation}:${IDS.other}`,
  conversation: IDS.conversation,
  user_id: IDS.other,
  user: { id: IDS.other, name: 'Jane Smith', email: 'jane@example.com', avatar_url: null },
  role: 'member',
  joined_at: '2024-01-01T10:00:00Z',
  last_seen_at: '2024-01-01T12:00:00Z',
  is_active: true,
};

export const REACTION_003 = { message_id: IDS.message, user_id: IDS.other, emoji: '👍', created_at: '2024-01-01T12:01:00Z' };
