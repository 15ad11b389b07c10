import type { Millis } from '../../core/model.js';

/** UTC ISO 8601 with milliseconds and Z (DESIGN.md, Responses). */
export const iso = (ms: Millis): string => new Date(ms).toISOString();
export const isoOrNull = (ms: Millis | null | undefined): string | null => (ms == null ? null : iso(ms));
