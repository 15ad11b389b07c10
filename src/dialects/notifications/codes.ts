import type { Texts } from '../shared/errors.js';

/** Document 003's words (docs/codes.md). */
export const NOTIFICATIONS_TEXTS: Texts = {
  conversation_not_found: 'Conversation not found',
};
