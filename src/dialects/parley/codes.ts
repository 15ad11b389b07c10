import type { Texts } from '../shared/errors.js';
import type { CloseCodeMap } from '../shared/socket.js';
import { CloseCodes } from '../../delivery/connection.js';

/** Parley's own API words every refusal with the shared texts, and adds the machine-readable `code` (docs/codes.md). */
export const PARLEY_TEXTS: Texts = {};

/** The 409 of a `…/changes` cursor further back than RESUME_MAX_MESSAGES, or of another epoch. */
export const SNAPSHOT_REQUIRED_TEXT = 'Too much was missed: reload the conversation';

/** How the socket closes on a refused authentication (docs/codes.md). */
export const PARLEY_CLOSE_CODES: CloseCodeMap = {
  invalidToken: { code: CloseCodes.invalidToken, reason: 'Invalid or missing token' },
  authFailed: { code: CloseCodes.authFailed, reason: 'Authentication failed' },
};
