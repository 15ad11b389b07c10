import type { Texts } from '../shared/errors.js';

/** Parley's own API words every refusal with the shared texts, and adds the machine-readable `code` (docs/codes.md). */
export const PARLEY_TEXTS: Texts = {};

/** The 409 of a `…/changes` cursor further back than RESUME_MAX_MESSAGES, or of another epoch. */
export const SNAPSHOT_REQUIRED_TEXT = 'Too much was missed: reload the conversation';
