// Examples of document 004 (/api/v1/chat messages between friends), as the document shows
// them, for /docs/json and /docs/asyncapi.json.

import { JANE, JOHN } from '../shared/examples.js';

const SENDER = { account_id: JOHN.uuid, username: JOHN.email, full_name: JOHN.name, avatar: JOHN.avatar_url };
const RECEIVER = { account_id: JANE.uuid, username: JANE.email, full_name: JANE.name, avatar: JANE.avatar_url };

export const DIRECT_MESSAGE = {
  message_id: '0192f7a1-2b3c-7d4e-8f50-617283940a5b',
  sender_id: SENDER.account_id,
  receiver_id: RECEIVER.account_id,
  content: 'Message content',
  status: 'sent',
  is_deleted: false,
  created_at: '2024-01-01T12:00:00Z',
  updated_at: '2024-01-01T12:00:00Z',
  read_at: null,
  sender: SENDER,
  receiver: RECEIVER,
};

export const FRIEND_IDS = { me: SENDER.account_id, friend: RECEIVER.account_id };
