import { afterEach, expect, it } from 'vitest';
import type { Id } from '../../src/core/model.js';
import type { Presence } from '../../src/backends/presence/presence.js';

export interface PresenceHandle {
  presence: Presence;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sorted = (ids: Id[]) => [...ids].sort((a, b) => a - b);

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The Presence contract (src/backends/presence/presence.ts); `make` opens one with this typing TTL. */
export function presenceContract(make: (typingTtlMs: number) => Promise<PresenceHandle>): void {
  const open: PresenceHandle[] = [];
  const presence = async (typingTtlMs = 5_000) => {
    const h = await make(typingTtlMs);
    open.push(h);
    return h.presence;
  };
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });

  it('connect is true exactly when the user comes online, disconnect exactly when the last connection leaves', async () => {
    const p = await presence();
    expect(await p.connect(1, 'a')).toBe(true);
    expect(await p.connect(1, 'b')).toBe(false);
    expect(await p.connect(1, 'c')).toBe(false);
    expect(await p.connect(2, 'a')).toBe(true);
    expect(await p.disconnect(1, 'b')).toBe(false);
    expect(await p.disconnect(1, 'a')).toBe(false);
    expect(p.isOnline(1)).toBe(true);
    expect(await p.disconnect(1, 'c')).toBe(true);
    expect(p.isOnline(1)).toBe(false);
    expect(p.isOnline(2)).toBe(true);
    // Back online: true again.
    expect(await p.connect(1, 'd')).toBe(true);
    expect(await p.disconnect(1, 'd')).toBe(true);
  });

  it('disconnect of an unknown or already closed connection is false and changes nothing', async () => {
    const p = await presence();
    expect(await p.disconnect(7, 'never')).toBe(false);
    await p.connect(7, 'x');
    expect(await p.disconnect(7, 'other')).toBe(false);
    expect(p.isOnline(7)).toBe(true);
    expect(await p.disconnect(7, 'x')).toBe(true);
    expect(await p.disconnect(7, 'x')).toBe(false);
    expect(p.isOnline(7)).toBe(false);
  });

  it('isOnline answers at once, without I/O, from the first connect to the last disconnect', async () => {
    const p = await presence();
    const before = p.isOnline(3);
    expect(before).toBe(false);
    await p.connect(3, 'a');
    // A plain boolean, not a promise: no round trip behind it.
    const now = p.isOnline(3);
    expect(now).toBe(true);
    expect(p.isOnline(4)).toBe(false);
    await p.disconnect(3, 'a');
    expect(p.isOnline(3)).toBe(false);
  });

  it('onlineAmong returns the online users among those asked', async () => {
    const p = await presence();
    await p.connect(10, 'a');
    await p.connect(11, 'a');
    await p.connect(11, 'b');
    await p.connect(12, 'a');
    await p.disconnect(12, 'a');
    expect(sorted(p.onlineAmong([10, 11, 12, 13]))).toEqual([10, 11]);
    expect(p.onlineAmong([12, 13])).toEqual([]);
    expect(p.onlineAmong([])).toEqual([]);
  });

  it('lastSeen: undefined if never seen, now while online, the disconnect time afterwards', async () => {
    const p = await presence();
    expect(p.lastSeen(20)).toBeUndefined();
    const t0 = Date.now();
    await p.connect(20, 'a');
    expect(p.lastSeen(20)).toBeGreaterThanOrEqual(t0);
    await sleep(20);
    const beforeLeave = Date.now();
    await p.disconnect(20, 'a');
    const afterLeave = Date.now();
    await sleep(20);
    const seen = p.lastSeen(20)!;
    expect(seen).toBeGreaterThanOrEqual(beforeLeave);
    expect(seen).toBeLessThanOrEqual(afterLeave);
  });

  it('setTyping sets and clears marks per conversation and returns who is typing afterwards', async () => {
    const p = await presence();
    expect(await p.setTyping(1, 10, true)).toEqual([10]);
    expect(sorted(await p.setTyping(1, 11, true))).toEqual([10, 11]);
    expect(await p.setTyping(2, 12, true)).toEqual([12]);
    // Setting an existing mark again keeps one entry.
    expect(sorted(await p.setTyping(1, 10, true))).toEqual([10, 11]);
    expect(await p.setTyping(1, 10, false)).toEqual([11]);
    expect(await p.setTyping(1, 13, false)).toEqual([11]);
    expect(await p.setTyping(1, 11, false)).toEqual([]);
    expect(await p.setTyping(2, 99, false)).toEqual([12]);
  });

  it('an expired typing mark calls the listener once, with the users still typing; cleared marks never fire', async () => {
    const ttl = 150;
    const p = await presence(ttl);
    const calls: [Id, Id, Id[]][] = [];
    p.onTypingExpired((c, u, now) => calls.push([c, u, sorted(now)]));
    await p.setTyping(1, 10, true);
    await p.setTyping(1, 13, true);
    await p.setTyping(1, 13, false);
    await sleep(ttl / 3);
    await p.setTyping(1, 11, true);
    await p.setTyping(2, 12, true);
    await until(() => calls.length >= 1, 2_000);
    expect(calls[0]).toEqual([1, 10, [11]]);
    await until(() => calls.length >= 3, 2_000);
    await sleep(ttl * 2);
    expect([...calls].sort((x, y) => x[0] - y[0] || x[1] - y[1])).toEqual([
      [1, 10, [11]],
      [1, 11, []],
      [2, 12, []],
    ]);
    expect(await p.setTyping(1, 99, false)).toEqual([]);
    expect(await p.setTyping(2, 99, false)).toEqual([]);
  });

  it('renewing a typing mark postpones its expiry', async () => {
    const ttl = 300;
    const p = await presence(ttl);
    const calls: [Id, Id, Id[]][] = [];
    p.onTypingExpired((c, u, now) => calls.push([c, u, now]));
    const start = Date.now();
    await p.setTyping(5, 50, true);
    // Renewed well within the TTL for more than twice the TTL: never expires meanwhile.
    while (Date.now() - start < ttl * 2.5) {
      await sleep(ttl / 3);
      await p.setTyping(5, 50, true);
    }
    expect(calls).toEqual([]);
    expect(await p.setTyping(5, 99, false)).toEqual([50]);
    await until(() => calls.length >= 1, 2_000);
    await sleep(ttl);
    expect(calls).toEqual([[5, 50, []]]);
  });
}
