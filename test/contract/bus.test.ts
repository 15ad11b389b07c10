import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/backends/bus/memory-bus.js';
import { createRedisBus, RedisBus } from '../../src/backends/bus/redis-bus.js';
import { openRedis } from '../../src/backends/redis.js';
import { busContract, type BusHandle } from './bus.contract.js';
import { dropPrefix, newRedisPrefix, redisUrl } from './redis.js';

// An in-process bus is one process: delivery is synchronous, so nothing to wait for.
describe('MemoryBus', () => {
  busContract(async () => {
    const bus = createMemoryBus();
    return { buses: [bus], settle: async () => {}, close: () => bus.close() };
  });
});

/** `processes` RedisBus instances on one prefix: each is what one Parley process opens. */
async function redisBuses(processes: number): Promise<BusHandle & { buses: RedisBus[]; prefix: string }> {
  const url = redisUrl!;
  const prefix = newRedisPrefix('bus');
  const buses: RedisBus[] = await Promise.all(Array.from({ length: processes }, () => createRedisBus(url, { prefix })));
  return {
    buses,
    prefix,
    // The first round makes every publish reach Redis; the second, every delivery reach its handler.
    async settle() {
      for (let round = 0; round < 2; round++) await Promise.all(buses.map((b) => b.flush()));
    },
    async close() {
      await Promise.all(buses.map((b) => b.close()));
      await dropPrefix(url, prefix);
    },
  };
}

describe.skipIf(!redisUrl)('RedisBus', () => {
  describe('one process', () => busContract(() => redisBuses(1)));
  describe('three processes on one Redis', () => busContract(() => redisBuses(3)));

  // The channel layout: a process holds a Redis subscription exactly for the channels it follows,
  // so Redis sends a room's events only to the processes that have a follower in it.
  it('one Redis channel per followed channel, held only by the processes that follow it', async () => {
    const h = await redisBuses(2);
    const [a, b] = h.buses;
    const admin = new Redis(redisUrl!);
    try {
      const numsub = async (ch: string) => Number(((await admin.pubsub('NUMSUB', h.prefix + ch)) as [string, number])[1]);
      a.subscribe('conv:1');
      b.subscribe('conv:1');
      a.subscribe('user:5');
      await h.settle();
      expect(await numsub('conv:1')).toBe(2);
      expect(await numsub('user:5')).toBe(1);
      b.unsubscribe('conv:1');
      a.unsubscribe('user:5');
      await h.settle();
      expect(await numsub('conv:1')).toBe(1);
      expect(await numsub('user:5')).toBe(0);
    } finally {
      admin.disconnect();
      await h.close();
    }
  });
});

describe.skipIf(!redisUrl)('RedisBus publishes of one turn', () => {
  // A committed batch publishes all its messages in one go: one socket write for all of them
  // (one per PUBLISH was a syscall per message), still in order, each publish answered.
  it('leave in one socket write, in order, and every one reaches the subscribers', async () => {
    const url = redisUrl!;
    const prefix = newRedisPrefix('bus-batch');
    const pub = await openRedis(url, 'test-bus-pub', undefined, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false });
    const sub = await openRedis(url, 'test-bus-sub', undefined, { enableOfflineQueue: false, autoResubscribe: false });
    const a = new RedisBus(pub, sub, { prefix });
    const b = await createRedisBus(url, { prefix });
    try {
      const got: number[] = [];
      b.onEvent((_c, e) => got.push((e as unknown as { n: number }).n));
      await b.subscribe('conv:1');
      // Observed, not replaced: every write still goes to Redis.
      let writes = 0;
      const stream = (pub as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
      const write = stream.write.bind(stream);
      stream.write = (...args: unknown[]) => {
        writes++;
        return write(...args);
      };
      const n = 50;
      const published = Array.from({ length: n }, (_, i) => a.publish('conv:1', { type: 'test', n: i } as never));
      await Promise.all(published);
      expect(writes).toBe(1);
      await a.flush();
      await b.flush();
      expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
      // The next turn is a write of its own, after the first (flush's PING was one).
      writes = 0;
      await Promise.all([a.publish('conv:1', { type: 'test', n } as never), a.publish('conv:1', { type: 'test', n: n + 1 } as never)]);
      expect(writes).toBe(1);
      await a.flush();
      await b.flush();
      expect(got.slice(-2)).toEqual([n, n + 1]);
    } finally {
      await a.close();
      await b.close();
      await dropPrefix(url, prefix);
    }
  });
});
