import type { Texts } from '../shared/errors.js';

/** The documents' own words where they differ from the shared ones (docs/codes.md). */
export const CHAT_TEXTS: Texts = {
  conversation_not_found: 'Room not found',
  cannot_chat_with_self: 'Cannot create a room with yourself',
};
