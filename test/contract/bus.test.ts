import fc from 'fast-check';
import { Redis } from 'ioredis';
import { Socket } from 'node:net';
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

  // A group commit publishes its batch's events in one turn of the event loop: they go to Redis
  // as one pipeline, one socket write, instead of a write each.
  it("one turn's publishes reach Redis in one write, and arrive in publish order", async () => {
    const h = await redisBuses(2);
    const [a, b] = h.buses;
    const got: unknown[] = [];
    b.onEvent((_, e) => got.push(e));
    const write = Socket.prototype.write;
    let publishWrites = 0;
    try {
      await b.subscribe('conv:9');
      Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
        if (String(chunk).includes(h.prefix + 'conv:9')) publishWrites++;
        return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof write;
      const sent = Array.from({ length: 50 }, (_, i) => a.publish('conv:9', { type: 'session.revoked', userId: i }));
      await Promise.all(sent);
      Socket.prototype.write = write;
      await h.settle();
      expect(publishWrites).toBe(1);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => ({ type: 'session.revoked', userId: i })));
    } finally {
      Socket.prototype.write = write;
      await h.close();
    }
  });

  // Publishes batched per turn must keep the bus contract across turns and processes: whatever
  // mix of same-turn bursts and awaited publishes, every subscriber gets each event once, each
  // publisher's events in the order it published them, and an event published after another's
  // publish resolved arrives after it everywhere.
  it('property: bursts within a turn and across turns, from 3 processes: each event once, in each publisher order, after what resolved before it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ from: fc.nat(2), channel: fc.constantFrom('conv:1', 'conv:2'), burst: fc.integer({ min: 1, max: 6 }), awaited: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        async (steps) => {
          const h = await redisBuses(3);
          try {
            const got = h.buses.map(() => [] as { channel: string; id: number }[]);
            h.buses.forEach((bus, k) => {
              bus.onEvent((channel, e) => got[k].push({ channel, id: (e as { userId: number }).userId }));
            });
            await Promise.all(h.buses.flatMap((bus) => [bus.subscribe('conv:1'), bus.subscribe('conv:2')]));
            const published: { from: number; channel: string; id: number }[] = [];
            /** Pairs (earlier, later): `later` was published after `earlier`'s publish resolved. */
            const resolvedBefore: [number, number][] = [];
            const resolved = new Set<number>();
            let id = 0;
            for (const step of steps) {
              const sends = Array.from({ length: step.burst }, () => {
                const n = id++;
                published.push({ from: step.from, channel: step.channel, id: n });
                for (const r of resolved) resolvedBefore.push([r, n]);
                return h.buses[step.from].publish(step.channel, { type: 'session.revoked', userId: n }).then(() => resolved.add(n));
              });
              if (step.awaited) await Promise.all(sends);
            }
            await h.settle();
            await h.settle();
            for (const events of got) {
              for (const channel of ['conv:1', 'conv:2']) {
                const on = events.filter((e) => e.channel === channel).map((e) => e.id);
                const expected = published.filter((p) => p.channel === channel);
                // Each event once.
                expect([...on].sort((x, y) => x - y)).toEqual(expected.map((p) => p.id));
                // Each publisher's events in publish order.
                for (const from of [0, 1, 2]) {
                  const mine = new Set(expected.filter((p) => p.from === from).map((p) => p.id));
                  expect(on.filter((x) => mine.has(x))).toEqual(expected.filter((p) => p.from === from).map((p) => p.id));
                }
                const at = new Map(on.map((x, i) => [x, i]));
                for (const [earlier, later] of resolvedBefore) {
                  if (at.has(earlier) && at.has(later)) expect(at.get(earlier)!).toBeLessThan(at.get(later)!);
                }
              }
            }
          } finally {
            await h.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
