import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * REDIS_URL (CI sets redis://127.0.0.1:6379): the Redis halves of the contract suites run
 * against it; unset, they are skipped. A set REDIS_URL whose server does not answer fails
 * them (the factories reject), it does not skip them.
 */
export const redisUrl = process.env.REDIS_URL || undefined;

/**
 * A key and channel prefix of its own for one test: the shared Redis is never flushed, each
 * test deletes what it wrote under its prefix (`dropPrefix`).
 */
export const newRedisPrefix = (what: string) => `parley-test:${what}:${randomBytes(6).toString('hex')}:`;

/** Deletes every key under `prefix` (SCAN, never FLUSHDB). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
