import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/backends/bus/memory-bus.js';
import { createRedisBus, type RedisBus } from '../../src/backends/bus/redis-bus.js';
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
