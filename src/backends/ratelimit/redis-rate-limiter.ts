import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { closeRedis, defaultOnError, LUA_NOW, openRedis, type RedisBackendOptions, type RedisErrorListener } from '../redis.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';

// One bucket per key, a hash {t: tokens, a: last update (ms, Redis's clock)}; read, refilled
// and taken in one script, so concurrent takes from several processes never overdraw it. The
// key expires once it would be full again: an idle bucket costs nothing.

// The bucket of KEYS[1] (ARGV perSecond, burst): `tokens` is nil for a bucket that is gone.
const READ_BUCKET = `
-- KEYS bucket; ARGV perSecond, burst
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = tonumber(b[1])
`;

// Writes the bucket back; it expires once it would be full again.
const STORE_BUCKET = `redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
`;

const TAKE = `${LUA_NOW}${READ_BUCKET}if tokens == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - tonumber(b[2])) / 1000 * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
${STORE_BUCKET}return wait`;

const TAKE_SHA = createHash('sha1').update(TAKE).digest('hex');

// The same bucket, one token put back; a bucket that is gone (full and expired) stays gone.
const REFUND = `${LUA_NOW}${READ_BUCKET}if tokens == nil then return 0 end
tokens = math.min(burst, tokens + math.max(0, now - tonumber(b[2])) / 1000 * rate + 1)
${STORE_BUCKET}return 0`;

const REFUND_SHA = createHash('sha1').update(REFUND).digest('hex');

/**
 * Token buckets shared by every process on one Redis: the limit holds for a user however
 * their requests are spread. One EVALSHA per `take` (EVAL once after a Redis restart, when
 * the script cache is empty; order between takes does not matter).
 *
 * While Redis is unreachable (or slower than `timeoutMs`), `take` falls back to this
 * process's own buckets, so the limit still holds per process and nothing waits for Redis.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #onError: RedisErrorListener;
  readonly #local = new MemoryRateLimiter();
  readonly #isLocal: (key: string) => boolean;

  constructor(redis: Redis, opts: RedisRateLimiterOptions = {}) {
    this.#redis = redis;
    this.#prefix = (opts.prefix ?? '') + 'rl:';
    this.#onError = opts.onError ?? defaultOnError;
    this.#isLocal = opts.local ?? (() => false);
  }

  take(key: string, perSecond: number, burst: number): number | Promise<number> {
    if (this.#isLocal(key) || this.#redis.status !== 'ready') return this.#local.take(key, perSecond, burst);
    return this.#takeShared(key, perSecond, burst);
  }

  refund(key: string, perSecond: number, burst: number): void | Promise<void> {
    if (this.#isLocal(key) || this.#redis.status !== 'ready') return this.#local.refund(key, perSecond, burst);
    return this.#refundShared(key, perSecond, burst);
  }

  async #takeShared(key: string, perSecond: number, burst: number): Promise<number> {
    try {
      return (await this.#script(TAKE, TAKE_SHA, key, perSecond, burst)) as number;
    } catch (e) {
      this.#onError(e as Error);
      return this.#local.take(key, perSecond, burst);
    }
  }

  async #refundShared(key: string, perSecond: number, burst: number): Promise<void> {
    try {
      await this.#script(REFUND, REFUND_SHA, key, perSecond, burst);
    } catch (e) {
      this.#onError(e as Error);
      this.#local.refund(key, perSecond, burst);
    }
  }

  async #script(source: string, sha: string, key: string, perSecond: number, burst: number): Promise<unknown> {
    const k = this.#prefix + key;
    try {
      return await this.#redis.evalsha(sha, 1, k, perSecond, burst);
    } catch (e) {
      if (!(e as Error).message.startsWith('NOSCRIPT')) throw e;
      return this.#redis.eval(source, 1, k, perSecond, burst);
    }
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}

export interface RedisRateLimiterOptions extends RedisBackendOptions {
  /** A take slower than this uses the local bucket instead (default 500 ms). */
  timeoutMs?: number;
  /**
   * Keys only this process uses stay in local buckets, without a round trip: a connection's
   * frame budget (`f:<connectionId>` in core/rate-limits.ts), checked on every frame.
   */
  local?: (key: string) => boolean;
}

export async function createRedisRateLimiter(url: string, opts: RedisRateLimiterOptions = {}): Promise<RedisRateLimiter> {
  const redis = await openRedis(url, 'parley-ratelimit', opts.onError, {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: opts.timeoutMs ?? 500,
  });
  return new RedisRateLimiter(redis, opts);
}
