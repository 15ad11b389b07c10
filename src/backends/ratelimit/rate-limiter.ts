/**
 * Token buckets by key. Contract: a bucket holds at most `burst` tokens and refills at
 * `perSecond`; `take` removes one token and returns 0 when one was there, else the
 * milliseconds until one will be (taking nothing). With several processes on one Redis the
 * buckets are shared (a Redis implementation comes with issue 7).
 */
export interface RateLimiter {
  take(key: string, perSecond: number, burst: number): number | Promise<number>;
}
