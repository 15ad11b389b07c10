import { describe, expect, it } from 'vitest';
import { createMemoryRateLimiter, MemoryRateLimiter } from '../../src/backends/ratelimit/memory-rate-limiter.js';
import { createRedisRateLimiter } from '../../src/backends/ratelimit/redis-rate-limiter.js';
import { rateLimiterContract } from './rate-limiter.contract.js';
import { dropPrefix, newRedisPrefix, redisUrl } from './redis.js';
import { sleep } from '../helpers/clients.js';

describe('MemoryRateLimiter', () => {
  rateLimiterContract(async () => ({ limiters: [createMemoryRateLimiter()], close: async () => {} }));

  it('forgets a bucket only once it has refilled: a slow one idle past the sweep keeps its debt', async () => {
    const l = new MemoryRateLimiter({ sweepMs: 20 });
    // One token a day: what a login throttle's long tier looks like.
    for (let i = 0; i < 3; i++) expect(l.take('slow', 1 / 86_400, 3)).toBe(0);
    expect(l.take('fast', 1000, 3)).toBe(0);
    await sleep(50);
    // A take on another key runs the sweep.
    expect(l.take('other', 1, 1)).toBe(0);
    expect(l.take('slow', 1 / 86_400, 3)).toBeGreaterThan(3_600_000);
    expect(l.take('fast', 1000, 3)).toBe(0);
  });
});

describe.skipIf(!redisUrl)('RedisRateLimiter, two processes on one Redis', () => {
  rateLimiterContract(async () => {
    const url = redisUrl!;
    const prefix = newRedisPrefix('ratelimit');
    const limiters = await Promise.all([createRedisRateLimiter(url, { prefix }), createRedisRateLimiter(url, { prefix })]);
    return {
      limiters,
      async close() {
        await Promise.all(limiters.map((l) => l.close()));
        await dropPrefix(url, prefix);
      },
    };
  });
});
