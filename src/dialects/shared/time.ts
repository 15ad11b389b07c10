import type { Millis } from '../../core/model.js';

// A message's times are rendered several times in a row (created_at, updated_at, each
// variant of a frame): the last answer is kept.
let lastMs = NaN;
let lastIso = '';
/** UTC ISO 8601 with milliseconds and Z (DESIGN.md, Responses). */
export const iso = (ms: Millis): string => (ms === lastMs ? lastIso : ((lastMs = ms), (lastIso = new Date(ms).toISOString())));
export const isoOrNull = (ms: Millis | null | undefined): string | null => (ms == null ? null : iso(ms));
