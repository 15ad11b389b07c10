/**
 * Token buckets by key. Contract: a bucket holds at most `burst` tokens and refills at
 * `perSecond`; `take` removes one token and returns 0 when one was there, else the
 * milliseconds until one will be (taking nothing). With several processes on one Redis the
 * buckets are shared (RedisRateLimiter): two instances taking from one key draw from one
 * bucket. Contract suite: test/contract/rate-limiter.contract.ts.
 */
export interface RateLimiter {
  take(key: string, perSecond: number, burst: number): number | Promise<number>;
}
