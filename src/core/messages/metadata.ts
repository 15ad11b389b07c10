import { refusal } from '../errors.js';

/** The largest metadata object, serialized (UTF-8 bytes). */
export const METADATA_MAX_BYTES = 4096;
/** How deep it may nest: the object itself is level 1. */
export const METADATA_MAX_DEPTH = 5;

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const v of Object.values(value)) deepest = Math.max(deepest, depthOf(v));
  return 1 + deepest;
}

/**
 * An integration's metadata (issue 19) as stored: a JSON object of at most METADATA_MAX_BYTES
 * serialized and METADATA_MAX_DEPTH levels, serialized once here (stored as text, returned as
 * it was given); `null` clears it, `undefined` leaves it as it is.
 */
export function serializeMetadata(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'object' || Array.isArray(value)) throw refusal('metadata_not_object');
  if (depthOf(value) > METADATA_MAX_DEPTH) throw refusal('metadata_too_deep', { max: METADATA_MAX_DEPTH });
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, 'utf8') > METADATA_MAX_BYTES) throw refusal('metadata_too_large', { max: METADATA_MAX_BYTES });
  return json;
}
