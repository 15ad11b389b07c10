import type { Texts } from '../shared/errors.js';
import type { CloseCodeMap } from '../shared/socket.js';
import { CloseCodes } from '../../delivery/connection.js';

/** Document 003's words (docs/codes.md). */
export const NOTIFICATIONS_TEXTS: Texts = {
  conversation_not_found: 'Conversation not found',
};

/** How the socket closes on a refused authentication; a token of another tenant than the path's is 4003. */
export const NOTIFICATIONS_CLOSE_CODES: CloseCodeMap = {
  invalidToken: { code: CloseCodes.invalidToken, reason: 'Invalid or missing token' },
  authFailed: { code: CloseCodes.authFailed, reason: 'Authentication failed' },
  notAllowed: { code: CloseCodes.notAllowed, reason: 'Tenant not allowed' },
};
