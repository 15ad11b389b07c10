import { describe } from 'vitest';
import { createMemoryRateLimiter } from '../../src/backends/ratelimit/memory-rate-limiter.js';
import { createRedisRateLimiter } from '../../src/backends/ratelimit/redis-rate-limiter.js';
import { rateLimiterContract } from './rate-limiter.contract.js';
import { dropPrefix, newRedisPrefix, redisUrl } from './redis.js';

describe('MemoryRateLimiter', () => {
  rateLimiterContract(async () => ({ limiters: [createMemoryRateLimiter()], close: async () => {} }));
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
