import { describe } from 'vitest';
import { createMemoryPresence } from '../../src/backends/presence/memory-presence.js';
import { createRedisPresence, type RedisPresence } from '../../src/backends/presence/redis-presence.js';
import { presenceContract, sharedPresenceContract } from './presence.contract.js';
import { dropPrefix, newRedisPrefix, redisUrl } from './redis.js';

describe('MemoryPresence', () => {
  presenceContract(async (ttl) => {
    const presence = createMemoryPresence(ttl);
    return { presence, close: () => presence.close() };
  });
});

/** `processes` RedisPresence instances on one prefix: each is what one Parley process opens. */
async function redisPresences(processes: number, opts: { typingTtlMs: number; ttlMs: number }) {
  const url = redisUrl!;
  const prefix = newRedisPrefix('presence');
  const presences: RedisPresence[] = [];
  for (let i = 0; i < processes; i++) presences.push(await createRedisPresence(url, { prefix, ...opts }));
  return {
    presences,
    kill: (i: number) => presences[i].close(),
    async close() {
      await Promise.all(presences.map((p) => p.close()));
      await dropPrefix(url, prefix);
    },
  };
}

describe.skipIf(!redisUrl)('RedisPresence', () => {
  describe('one process', () => {
    presenceContract(async (typingTtlMs) => {
      const h = await redisPresences(1, { typingTtlMs, ttlMs: 3_000 });
      return { presence: h.presences[0], close: h.close };
    });
  });
  describe('several processes on one Redis', () => sharedPresenceContract(redisPresences));
});
