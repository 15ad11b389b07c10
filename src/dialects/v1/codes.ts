import type { Texts } from '../shared/errors.js';

/** Document 004's words (docs/codes.md). */
export const FRIENDS_TEXTS: Texts = {
  not_friends: 'You can only send messages to your friends',
  conversation_not_found: 'Conversation not found',
};
