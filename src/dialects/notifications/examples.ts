// Examples of document 003 (/api/notifications/chat), as the document shows them with
// Parley's added fields, for /docs/json and /docs/asyncapi.json.

import { JANE, JOHN, TENANT_ID } from '../shared/examples.js';

export const IDS = {
  tenant: TENANT_ID,
  conversation: '0192f7a0-9abc-7def-8012-3456789abcde',
  message: '0192f7a1-2b3c-7d4e-8f50-617283940a5b',
  me: JOHN.uuid,
  other: JANE.uuid,
} as const;

export const USER_003 = { id: JOHN.uuid, name: JOHN.name, email: JOHN.email, avatar_url: JOHN.avatar_url };

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
  user: { id: JANE.uuid, name: JANE.name, email: JANE.email, avatar_url: JANE.avatar_url },
  role: 'member',
  joined_at: '2024-01-01T10:00:00Z',
  last_seen_at: '2024-01-01T12:00:00Z',
  is_active: true,
};

export const REACTION_003 = { message_id: IDS.message, user_id: IDS.other, emoji: '👍', created_at: '2024-01-01T12:01:00Z' };
