import type { Texts } from '../shared/errors.js';
import type { CloseCodeMap } from '../shared/socket.js';
import { CloseCodes } from '../../delivery/connection.js';

/** Document 004's words (docs/codes.md). */
export const FRIENDS_TEXTS: Texts = {
  not_friends: 'You can only send messages to your friends',
  conversation_not_found: 'Conversation not found',
};

/** Document 004's answer for a token whose user is gone (REST 403 and the socket handshake). */
export const USER_GONE_TEXT = 'User not found or inactive';

/**
 * How 004's socket closes on a refused authentication: 4001 whatever the reason. A bad token
 * is refused before the upgrade (HTTP 401/403), so this is for what the handshake let through.
 */
export const FRIENDS_CLOSE_CODES: CloseCodeMap = {
  invalidToken: { code: CloseCodes.invalidToken, reason: 'Invalid token' },
};
