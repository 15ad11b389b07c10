import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBus, type RedisBus } from '../../src/backends/bus/redis-bus.js';
import { CachedStore } from '../../src/backends/store/cached-store.js';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import type { CacheChange } from '../../src/core/events.js';
import { Hub } from '../../src/delivery/hub.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { applyCacheChange, cacheChangeOp, cacheWorld, readCacheable, type CacheChangeOp, type CacheWorld } from './cacheable-reads.contract.js';
import { dropPrefix, newRedisPrefix, redisUrl } from './redis.js';

/** The cached read a change makes stale, and the eviction that empties it first (so the raced read is a miss). */
function staleRead(w: CacheWorld, c: CacheChangeOp): { read: (s: CachedStore) => Promise<unknown>; cold: CacheChange } {
  if ('other' in c) {
    const [a, b] = [w.users[c.user].id, w.users[c.other].id];
    return { read: (s) => s.blocksBetween(a, b), cold: { scope: 'block', userIds: [a, b] } };
  }
  const conversationId = w.groups[c.group].id;
  const userId = w.users[c.op === 'delete' ? 0 : c.user].id;
  return { read: (s) => s.memberRole(conversationId, userId), cold: { scope: 'member', conversationId, userId } };
}

/**
 * Two processes' CachedStores on one PostgreSQL, each evicting through its own hub over a real
 * Redis bus (what src/app/app.ts composes), against a third, uncached store on the database.
 */
describe.skipIf(!hasPostgres || !redisUrl)('two CachedStores on one PostgreSQL, evicting through a Redis bus', () => {
  let db: Awaited<ReturnType<typeof newPostgresDatabase>>;
  let truth: SqlStore;
  const prefix = newRedisPrefix('cached-store');
  const buses: RedisBus[] = [];
  const hubs: Hub[] = [];
  const stores: CachedStore[] = [];

  beforeAll(async () => {
    db = await newPostgresDatabase();
    truth = createPostgresStore(db.url);
    for (let i = 0; i < 2; i++) {
      const bus = await createRedisBus(redisUrl!, { prefix });
      const hub = new Hub(bus);
      await hub.ready;
      buses.push(bus);
      hubs.push(hub);
      stores.push(new CachedStore(createPostgresStore(db.url), hub));
    }
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(buses.map((b) => b.close()));
    await truth?.close();
    await dropPrefix(redisUrl!, prefix);
    await db?.drop();
  });

  /** Every invalidation published so far has reached both processes' handlers (bus contract: flush all, twice). */
  const delivered = async () => {
    for (let round = 0; round < 2; round++) await Promise.all(buses.map((b) => b.flush()));
  };

  /**
   * Runs `read` on `store` up to the moment its store read has answered, then `change`, delivers
   * the invalidation, and only then lets the read finish: what it read is older than the change.
   */
  async function raced(store: CachedStore, read: (s: CachedStore) => Promise<unknown>, change: () => Promise<unknown>): Promise<void> {
    const inner = store.inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const names = ['memberRole', 'blocksBetween'];
    const originals = names.map((n) => inner[n]);
    let answered!: () => void;
    const atGate = new Promise<void>((r) => (answered = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    names.forEach((n, i) => {
      inner[n] = async (...args) => {
        const out = await originals[i].apply(inner, args);
        answered();
        await gate;
        return out;
      };
    });
    try {
      const reading = read(store);
      await atGate;
      await change();
      await delivered();
      open();
      await reading;
    } finally {
      names.forEach((n, i) => (inner[n] = originals[i]));
    }
  }

  it('after any change through either, the writer answers the new truth at once and the other once the invalidation arrived, also after a read that raced the change', async () => {
    const step = fc.record({ change: cacheChangeOp, through: fc.constantFrom(0, 1), race: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 15 }), async (steps) => {
        const w = await cacheWorld(truth);
        for (const { change, through, race } of steps) {
          const [writer, other] = [stores[through], stores[1 - through]];
          // Both hold the answers before the change.
          await readCacheable(writer, w);
          await readCacheable(other, w);
          const write = () => applyCacheChange(writer, w, change);
          if (race) {
            const { read, cold } = staleRead(w, change);
            await hubs[through].invalidate(cold);
            await delivered();
            await raced(other, read, write);
          } else {
            await write();
          }
          const now = await readCacheable(truth, w);
          expect(await readCacheable(writer, w)).toEqual(now);
          await delivered();
          expect(await readCacheable(other, w)).toEqual(now);
        }
      }),
      { seed: 16, numRuns: 10 },
    );
  });
});
