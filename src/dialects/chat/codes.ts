import type { Texts } from '../shared/errors.js';
import type { CloseCodeMap } from '../shared/socket.js';
import { CloseCodes } from '../../delivery/connection.js';

/** The documents' own words where they differ from the shared ones (docs/codes.md). */
export const CHAT_TEXTS: Texts = {
  conversation_not_found: 'Room not found',
  cannot_chat_with_self: 'Cannot create a room with yourself',
};

/** How the socket closes on a refused authentication: 4001 for a missing or invalid token or unknown user, 4000 for anything else (002's codes). */
export const CHAT_CLOSE_CODES: CloseCodeMap = {
  invalidToken: { code: CloseCodes.invalidToken, reason: 'Invalid or missing token' },
  authFailed: { code: CloseCodes.authFailed, reason: 'Authentication failed' },
};
