import type { Texts } from '../shared/errors.js';

/** Document 004's words (docs/codes.md). */
export const FRIENDS_TEXTS: Texts = {
  not_friends: 'You can only send messages to your friends',
  conversation_not_found: 'Conversation not found',
};

/** Document 004's answer for a token whose user is gone (REST 403 and the socket handshake). */
export const USER_GONE_TEXT = 'User not found or inactive';
