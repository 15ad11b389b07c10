import type { PushOutcome } from '../../core/notifications/ports.js';

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Try again later, after the provider's Retry-After when it gave one. */
export function retryLater(header?: string | string[]): PushOutcome {
  const after = retryAfterMs(header);
  return after === undefined ? { ok: false, gone: false } : { ok: false, gone: false, retryAfterMs: after };
}

export const GONE: PushOutcome = { ok: false, gone: true };
export const ACCEPTED: PushOutcome = { ok: true };
