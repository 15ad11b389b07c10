import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/backends/ratelimit/rate-limiter.js';
import { sleep } from '../helpers/clients.js';

/** One deployment's limiters: one per simulated process (a single one for an in-process limiter). */
export interface RateLimiterHandle {
  limiters: RateLimiter[];
  close(): Promise<void>;
}

const key = () => `test:${randomUUID()}`;

/** The RateLimiter contract (src/backends/ratelimit/rate-limiter.ts) against one implementation. */
export function rateLimiterContract(make: () => Promise<RateLimiterHandle>): void {
  const open: RateLimiterHandle[] = [];
  const limiters = async () => {
    const h = await make();
    open.push(h);
    return h.limiters;
  };
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });

  it('a new bucket holds burst tokens; once empty, take returns the ms until the next one and takes nothing', async () => {
    const [l] = await limiters();
    const k = key();
    for (let i = 0; i < 3; i++) expect(await l.take(k, 10, 3)).toBe(0);
    const wait = await l.take(k, 10, 3);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(100);
    // A refused take took nothing: the wait does not grow.
    const again = await l.take(k, 10, 3);
    expect(again).toBeGreaterThan(0);
    expect(again).toBeLessThanOrEqual(wait);
    await sleep(again + 15);
    expect(await l.take(k, 10, 3)).toBe(0);
  });

  it('refills at perSecond', async () => {
    const [l] = await limiters();
    const k = key();
    for (let i = 0; i < 3; i++) expect(await l.take(k, 10, 3)).toBe(0);
    await sleep(250); // 2.5 tokens
    expect(await l.take(k, 10, 3)).toBe(0);
    expect(await l.take(k, 10, 3)).toBe(0);
    expect(await l.take(k, 10, 3)).toBeGreaterThan(0);
  });

  it('never holds more than burst, however long it was idle', async () => {
    const [l] = await limiters();
    const k = key();
    for (let i = 0; i < 3; i++) expect(await l.take(k, 100, 3)).toBe(0);
    await sleep(200); // 20 tokens' worth
    for (let i = 0; i < 3; i++) expect(await l.take(k, 100, 3)).toBe(0);
    expect(await l.take(k, 100, 3)).toBeGreaterThan(0);
  });

  it('keys are independent', async () => {
    const [l] = await limiters();
    const [a, b] = [key(), key()];
    expect(await l.take(a, 1, 1)).toBe(0);
    expect(await l.take(a, 1, 1)).toBeGreaterThan(0);
    expect(await l.take(b, 1, 1)).toBe(0);
  });

  it('refund puts back one token taken, never above burst; on a key with no bucket it does nothing', async () => {
    const [l] = await limiters();
    const k = key();
    // A slow refill: nothing comes back by itself during the test.
    for (let i = 0; i < 3; i++) expect(await l.take(k, 0.01, 3)).toBe(0);
    expect(await l.take(k, 0.01, 3)).toBeGreaterThan(0);
    await l.refund(k, 0.01, 3);
    expect(await l.take(k, 0.01, 3)).toBe(0);
    expect(await l.take(k, 0.01, 3)).toBeGreaterThan(0);
    // Refunds beyond what was taken are capped at burst.
    for (let i = 0; i < 10; i++) await l.refund(k, 0.01, 3);
    for (let i = 0; i < 3; i++) expect(await l.take(k, 0.01, 3)).toBe(0);
    expect(await l.take(k, 0.01, 3)).toBeGreaterThan(0);
    // No bucket yet: a refund gives no credit beyond a new bucket's burst.
    const fresh = key();
    await l.refund(fresh, 0.01, 2);
    expect(await l.take(fresh, 0.01, 2)).toBe(0);
    expect(await l.take(fresh, 0.01, 2)).toBe(0);
    expect(await l.take(fresh, 0.01, 2)).toBeGreaterThan(0);
  });

  it('every process refunds into the same bucket', async () => {
    const ls = await limiters();
    const k = key();
    for (let i = 0; i < 2; i++) expect(await ls[0].take(k, 0.01, 2)).toBe(0);
    await ls[ls.length - 1].refund(k, 0.01, 2);
    expect(await ls[0].take(k, 0.01, 2)).toBe(0);
    expect(await ls[ls.length - 1].take(k, 0.01, 2)).toBeGreaterThan(0);
  });

  it('every process draws from the same bucket: concurrent takes never overdraw it', async () => {
    const ls = await limiters();
    const k = key();
    // A slow refill: nothing comes back during the test.
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => ls[i % ls.length].take(k, 0.01, 10)));
    expect(results.filter((w) => w === 0)).toHaveLength(10);
    for (const l of ls) expect(await l.take(k, 0.01, 10)).toBeGreaterThan(90_000);
  });
}
