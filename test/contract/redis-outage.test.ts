import { afterEach, describe, expect, it } from 'vitest';
import { createRedisBus } from '../../src/backends/bus/redis-bus.js';
import { createRedisPresence } from '../../src/backends/presence/redis-presence.js';
import { createRedisRateLimiter } from '../../src/backends/ratelimit/redis-rate-limiter.js';
import type { DomainEvent } from '../../src/core/events.js';
import { redisUrl } from './redis.js';
import { freePort, OwnRedis } from '../helpers/local-servers.js';
import { sleep } from '../helpers/clients.js';

// What the Redis backends do while Redis is down and once it is back. These tests kill and
// restart Redis, so they run a redis-server of their own on a free port (never the shared one).


async function until(check: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

const event = (n: number): DomainEvent => ({ type: 'session.revoked', userId: n });

describe.skipIf(!redisUrl)('Redis backends while Redis is down, and after', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function ownRedis(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    cleanups.push(() => redis.kill());
    return redis;
  }

  it('RedisBus drops what is published while Redis is down, then resubscribes and reports the gap once', async () => {
    const redis = await ownRedis();
    const errors: Error[] = [];
    const bus = await createRedisBus(redis.url, { prefix: 'p:', onError: (e) => errors.push(e) });
    cleanups.push(() => bus.close());
    const got: DomainEvent[] = [];
    let gaps = 0;
    bus.onEvent((_ch, e) => got.push(e));
    bus.onGap(() => gaps++);
    bus.subscribe('conv:1');
    await bus.flush();
    bus.publish('conv:1', event(1));
    await bus.flush();
    expect(got).toEqual([event(1)]);

    await redis.kill();
    await until(() => errors.length > 0, 5_000, 'the bus notices the lost connection');
    bus.publish('conv:1', event(2)); // lost: not queued for later
    bus.subscribe('user:9'); // followed while down: subscribed once Redis is back
    await redis.start();
    await until(() => gaps > 0, 10_000, 'a gap report');

    bus.publish('conv:1', event(3));
    bus.publish('user:9', event(4));
    await bus.flush();
    await bus.flush();
    expect(got).toEqual([event(1), event(3), event(4)]);
    await sleep(300);
    expect(gaps).toBe(1);
  });

  it('RedisPresence keeps answering while Redis is down and puts its connections back when Redis returns empty', async () => {
    const redis = await ownRedis();
    const opts = { prefix: 'p:', typingTtlMs: 1_000, ttlMs: 600, onError: () => {} };
    const a = await createRedisPresence(redis.url, opts);
    const b = await createRedisPresence(redis.url, opts);
    cleanups.push(() => a.close(), () => b.close());
    expect(await a.connect(1, 'c1')).toBe(true);
    await until(() => b.isOnline(1), 2_000, 'b sees 1');

    await redis.kill();
    // Nothing throws; the local view still answers.
    expect(await a.connect(2, 'c2')).toBe(true);
    expect(a.isOnline(1) && a.isOnline(2)).toBe(true);
    expect(await a.disconnect(1, 'c1')).toBe(false); // what is left in Redis expires instead
    await redis.start(); // no persistence: every key is gone

    // a's heartbeat writes its connections again; b reloads its view from Redis.
    await until(() => b.isOnline(2), 5_000, 'b sees 2 again');
    await sleep(opts.ttlMs);
    expect(b.isOnline(1)).toBe(false);
    expect(a.isOnline(1)).toBe(false);
    expect(a.isOnline(2)).toBe(true);
    expect(await a.disconnect(2, 'c2')).toBe(true);
    await until(() => !b.isOnline(2), 2_000, 'b sees 2 leave');
  });

  // Issue 15.7: what a process's users set lives in Redis; a Redis restart lost it silently.
  it('RedisPresence after a Redis restart: its users\' statuses are written again, and a typing mark it set still ends', async () => {
    const redis = await ownRedis();
    const ttl = 1_500;
    const opts = { prefix: 'p:', typingTtlMs: ttl, ttlMs: 600, onError: () => {} };
    const a = await createRedisPresence(redis.url, opts);
    const b = await createRedisPresence(redis.url, opts);
    cleanups.push(() => a.close(), () => b.close());
    const stopped: [number, number][] = [];
    a.onTypingExpired((c, u) => stopped.push([c, u]));
    b.onTypingExpired((c, u) => stopped.push([c, u]));
    await a.connect(7, 'c7');
    await a.setStatus(7, 'busy');
    await until(() => b.status(7) === 'busy', 2_000, 'b sees busy');
    const typingAt = Date.now();
    await a.setTyping(3, 7, true);

    await redis.kill();
    await redis.start(); // empty: the status and the typing mark are gone from Redis
    // The status comes back as the user left it, on every process, also one that loads its
    // view from Redis only now.
    const c = await createRedisPresence(redis.url, opts);
    cleanups.push(() => c.close());
    // Every view converges; a loaded machine may stall a's heartbeat past the member's life,
    // so a sweep and a revival can come between b's and a's view of the restored status.
    await until(
      () => c.isOnline(7) && c.status(7) === 'busy' && b.status(7) === 'busy' && a.status(7) === 'busy',
      5_000,
      'every process, a fresh one too, sees 7 busy',
    );
    // The mark was lost, yet its end is reported, once, when it was due.
    await until(() => stopped.length > 0, ttl + 3_000, 'typing stopped');
    expect(Date.now() - typingAt).toBeGreaterThanOrEqual(ttl - 50);
    await sleep(ttl);
    expect(stopped).toEqual([[3, 7]]);
  });

  it('RedisRateLimiter falls back to per-process buckets while Redis is down', async () => {
    const redis = await ownRedis();
    const limiter = await createRedisRateLimiter(redis.url, { prefix: 'p:', onError: () => {} });
    cleanups.push(() => limiter.close());
    expect(await limiter.take('m:1', 0.01, 2)).toBe(0);
    await redis.kill();
    // The local bucket is fresh, and still a limit.
    expect(await limiter.take('m:1', 0.01, 2)).toBe(0);
    expect(await limiter.take('m:1', 0.01, 2)).toBe(0);
    expect(await limiter.take('m:1', 0.01, 2)).toBeGreaterThan(0);
    await redis.start();
    // Shared again once reconnected: a second process's take empties the same bucket.
    const other = await createRedisRateLimiter(redis.url, { prefix: 'p:' });
    cleanups.push(() => other.close());
    let shared = false;
    for (let i = 0; !shared; i++) {
      if (i > 100) throw new Error('the limiter never went back to the shared buckets');
      await sleep(50);
      const k = `m:shared-${i}`;
      shared = (await other.take(k, 0.01, 1)) === 0 && (await limiter.take(k, 0.01, 1)) > 0;
    }
  });
});
