import type { RateLimiter } from './rate-limiter.js';

interface Bucket {
  tokens: number;
  at: number;
  /** When it will be full again if nothing more is taken: from then on it may be forgotten. */
  fullAt: number;
}

/** One process: buckets in a map; buckets that have refilled are dropped so the map stays small. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #sweepMs: number;
  #sweepAt = Date.now();

  /** `sweepMs`: how often full buckets are looked for and dropped (tests shorten it). */
  constructor(opts: { sweepMs?: number } = {}) {
    this.#sweepMs = opts.sweepMs ?? 60_000;
  }

  take(key: string, perSecond: number, burst: number): number {
    const now = Date.now();
    if (now - this.#sweepAt > this.#sweepMs) this.#sweep(now);
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = { tokens: burst, at: now, fullAt: now }));
    else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.fullAt = now + ((burst - b.tokens) / perSecond) * 1000;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / perSecond) * 1000);
  }

  refund(key: string, perSecond: number, burst: number): void {
    const b = this.#buckets.get(key);
    if (!b) return;
    const now = Date.now();
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond + 1);
    b.at = now;
    b.fullAt = now + ((burst - b.tokens) / perSecond) * 1000;
  }

  #sweep(now: number) {
    this.#sweepAt = now;
    // Only a bucket that has refilled may go: a slow one (a login throttle's, one token in
    // 15 minutes) forgotten early would hand out its whole burst again.
    for (const [k, b] of this.#buckets) if (now >= b.fullAt) this.#buckets.delete(k);
  }
}

export const createMemoryRateLimiter = (): RateLimiter => new MemoryRateLimiter();
