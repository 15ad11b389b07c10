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

  // A process's own events come back through Redis (their order among the others' events is
  // Redis's), but it kept them when it published: JSON.parse is for the others' events only.
  it("a process's own events come back without being parsed; the others' and a previous release's are", async () => {
    const h = await redisBuses(2);
    const [a, b] = h.buses;
    const admin = new Redis(redisUrl!);
    const parsed: string[] = [];
    const parse = JSON.parse;
    const got: { a: unknown[]; b: unknown[] } = { a: [], b: [] };
    a.onEvent((_, e) => got.a.push(e));
    b.onEvent((_, e) => got.b.push(e));
    try {
      a.subscribe('conv:7');
      b.subscribe('conv:7');
      await h.settle();
      JSON.parse = (text: string, ...rest: []) => (parsed.push(text), parse(text, ...rest));
      const own = { type: 'session.revoked', userId: 1 } as const;
      await a.publish('conv:7', own);
      // A process of the release before this one publishes bare JSON.
      await admin.publish(h.prefix + 'conv:7', JSON.stringify({ type: 'session.revoked', userId: 2 }));
      await h.settle();
      JSON.parse = parse;
      expect(got.a).toEqual([own, { type: 'session.revoked', userId: 2 }]);
      expect(got.b).toEqual([own, { type: 'session.revoked', userId: 2 }]);
      // a parsed only the bare one; b parsed both, without a's tag.
      expect(parsed.filter((t) => t.includes('"userId":1'))).toHaveLength(1);
      expect(parsed.filter((t) => t.includes('"userId":2'))).toHaveLength(2);
    } finally {
      JSON.parse = parse;
      admin.disconnect();
      await h.close();
    }
  });

  it('a payload stays a JSON object of the event (what the previous release parses), with one member more', async () => {
    const h = await redisBuses(1);
    const admin = new Redis(redisUrl!);
    const listener = admin.duplicate();
    try {
      const payloads: string[] = [];
      listener.on('message', (_ch: string, p: string) => payloads.push(p));
      await listener.subscribe(h.prefix + 'conv:8');
      await h.buses[0].publish('conv:8', { type: 'session.revoked', userId: 3 });
      await admin.ping();
      await listener.ping();
      expect(payloads).toHaveLength(1);
      const { '~': tag, ...event } = JSON.parse(payloads[0]);
      expect(typeof tag).toBe('string');
      expect(event).toEqual({ type: 'session.revoked', userId: 3 });
    } finally {
      listener.disconnect();
      admin.disconnect();
      await h.close();
    }
  });

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
