/**
 * Token buckets by key. Contract: a bucket holds at most `burst` tokens and refills at
 * `perSecond`; `take` removes one token and returns 0 when one was there, else the
 * milliseconds until one will be (taking nothing). `refund` puts one token back (a take that
 * turned out not to count, such as a login whose password was right), never above `burst`;
 * on a key with no bucket (never taken from, or idle until full and forgotten) it does
 * nothing. With several processes on one Redis the buckets are shared (RedisRateLimiter):
 * two instances taking from or refunding to one key act on one bucket. Contract suite:
 * test/contract/rate-limiter.contract.ts.
 */
export interface RateLimiter {
  take(key: string, perSecond: number, burst: number): number | Promise<number>;
  refund(key: string, perSecond: number, burst: number): void | Promise<void>;
}
