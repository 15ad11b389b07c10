// Examples of Parley's own API, for /docs/json and /docs/asyncapi.json: one conversation
// between John and Jane, as the documents' examples name them. Every REST example and frame
// example is built from these, so the two documents tell the same story.

import { INVITE, JANE, JOHN, TENANT_ID, TOKEN } from '../shared/examples.js';

const john = JOHN;
const jane = JANE;

export const EXAMPLE = {
  user: john,
  other: jane,
  tenantId: TENANT_ID,
  token: TOKEN,
  message: {
    id: 123,
    uuid: '0192f7a1-2b3c-7d4e-8f50-617283940a5b',
    conversation_id: 7,
    seq: 42,
    change_seq: 57,
    sender: john,
    kind: 'text',
    content: 'Hello!',
    reply_to_id: null,
    reply_count: 0,
    created_at: '2024-01-01T12:00:00.000Z',
    edited_at: null,
    deleted_at: null,
    attachments: [],
    reactions: [{ emoji: '👍', user_ids: [2], count: 1 }],
    local_temp_id: 'temp_123',
  },
  attachment: {
    id: 9,
    uuid: '0192f7a1-5d6e-7f80-9a1b-2c3d4e5f6a7b',
    kind: 'image',
    name: 'photo1.jpg',
    size: 1024000,
    mime_type: 'image/jpeg',
    url: 'https://chat.example.com/static/chat_files/images/photo1.jpg?exp=1704110400&sig=…',
    thumbnail_url: 'https://chat.example.com/static/chat_files/images/photo1.thumb.jpg?exp=1704110400&sig=…',
    width: 1600,
    height: 1200,
    duration: null,
  },
  invite: INVITE,
} as const;

export const EXAMPLE_MEMBER = { user: jane, role: 'member', read_seq: 41, delivered_seq: 42, joined_at: '2024-01-01T10:00:00.000Z', online: true } as const;

export const EXAMPLE_CONVERSATION = {
  id: 7,
  uuid: '0192f7a0-9abc-7def-8012-3456789abcde',
  kind: 'direct',
  title: null,
  created_by: 1,
  created_at: '2024-01-01T10:00:00.000Z',
  last_seq: 42,
  change_seq: 57,
  last_message: EXAMPLE.message,
  last_message_at: '2024-01-01T12:00:00.000Z',
  unread_count: 0,
  first_unread_seq: null,
  my_seen_seq: 42,
  my_role: 'member',
  my_read_seq: 42,
  my_sent_seq: 42,
  member_count: 2,
  visibility: 'private',
  members: [{ ...EXAMPLE_MEMBER, user: john, read_seq: 42 }, EXAMPLE_MEMBER],
} as const;

export const EXAMPLE_SESSION = { token: EXAMPLE.token, token_type: 'bearer', user: john } as const;
