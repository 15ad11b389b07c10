import type { RateLimiter } from './rate-limiter.js';

/** One process: buckets in a map; idle full buckets are dropped so the map stays small. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #sweepAt = Date.now();

  take(key: string, perSecond: number, burst: number): number {
    const now = Date.now();
    if (now - this.#sweepAt > 60_000) this.#sweep(now);
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = { tokens: burst, at: now }));
    else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
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
  }

  #sweep(now: number) {
    this.#sweepAt = now;
    // A bucket untouched for a minute is full again at any rate worth limiting.
    for (const [k, b] of this.#buckets) if (now - b.at > 60_000) this.#buckets.delete(k);
  }
}

export const createMemoryRateLimiter = (): RateLimiter => new MemoryRateLimiter();
