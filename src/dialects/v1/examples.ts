// Examples of document 004 (/api/v1/chat messages between friends), as the document shows
// them, for /docs/json and /docs/asyncapi.json.

const SENDER = { account_id: '0192f7a0-6c1e-7cc4-9a57-5c7e3b1d2a01', username: 'john@example.com', full_name: 'John Doe', avatar: 'https://example.com/avatar.jpg' };
const RECEIVER = { account_id: '0192f7a0-6c1e-7cc4-9a57-5c7e3b1d2a02', username: 'jane@example.com', full_name: 'Jane Smith', avatar: null };

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
