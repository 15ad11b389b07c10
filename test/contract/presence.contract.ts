import { afterEach, expect, it } from 'vitest';
import type { Id } from '../../src/core/model.js';
import type { Presence } from '../../src/backends/presence/presence.js';
import { sleep } from '../helpers/clients.js';

export interface PresenceHandle {
  presence: Presence;
  close(): Promise<void>;
}

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

  it('setTyping sets and clears marks per conversation, says whether the state changed and who is typing afterwards', async () => {
    const p = await presence();
    const set = async (c: Id, u: Id, on: boolean) => {
      const { changed, typingNow } = await p.setTyping(c, u, on);
      return [changed, sorted(typingNow)];
    };
    expect(await set(1, 10, true)).toEqual([true, [10]]);
    expect(await set(1, 11, true)).toEqual([true, [10, 11]]);
    expect(await set(2, 12, true)).toEqual([true, [12]]);
    // Setting an existing mark again keeps one entry and only renews it.
    expect(await set(1, 10, true)).toEqual([false, [10, 11]]);
    expect(await set(1, 10, false)).toEqual([true, [11]]);
    expect(await set(1, 10, false)).toEqual([false, [11]]);
    expect(await set(1, 13, false)).toEqual([false, [11]]);
    expect(await set(1, 11, false)).toEqual([true, []]);
    expect(await set(2, 99, false)).toEqual([false, [12]]);
    expect(await set(1, 10, true)).toEqual([true, [10]]);
  });

  it('typingHere knows the marks set and renewed here until they are cleared or expire', async () => {
    const ttl = 150;
    const p = await presence(ttl);
    let expired = 0;
    p.onTypingExpired(() => expired++);
    expect(p.typingHere(1, 10)).toBe(false);
    await p.setTyping(1, 10, true);
    await p.setTyping(1, 11, true);
    expect(p.typingHere(1, 10) && p.typingHere(1, 11)).toBe(true);
    expect(p.typingHere(2, 10)).toBe(false);
    await p.setTyping(1, 10, false);
    expect(p.typingHere(1, 10)).toBe(false);
    await until(() => expired === 1, 2_000);
    expect(p.typingHere(1, 11)).toBe(false);
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
    expect((await p.setTyping(1, 99, false)).typingNow).toEqual([]);
    expect((await p.setTyping(2, 99, false)).typingNow).toEqual([]);
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
    expect((await p.setTyping(5, 99, false)).typingNow).toEqual([50]);
    await until(() => calls.length >= 1, 2_000);
    await sleep(ttl);
    expect(calls).toEqual([[5, 50, []]]);
  });
}

/** Several processes sharing one presence (one Redis): `processes` instances, `kill(i)` stops one without disconnecting. */
export interface SharedPresenceHandle {
  presences: Presence[];
  /** Stops instance `i` as SIGKILL would: no disconnect, no more heartbeats. */
  kill(i: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The multi-process sentences of the Presence contract: one deployment's view of who is
 * online, whichever process their sockets are on. `make(processes, { typingTtlMs, ttlMs })`.
 */
export function sharedPresenceContract(
  make: (processes: number, opts: { typingTtlMs: number; ttlMs: number }) => Promise<SharedPresenceHandle>,
): void {
  const open: SharedPresenceHandle[] = [];
  const deployment = async (processes: number, opts: { typingTtlMs?: number; ttlMs?: number } = {}) => {
    const h = await make(processes, { typingTtlMs: opts.typingTtlMs ?? 5_000, ttlMs: opts.ttlMs ?? 3_000 });
    open.push(h);
    return h;
  };
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });

  it('a user connected on one process is online on every process, and offline everywhere after the disconnect', async () => {
    const { presences: [a, b] } = await deployment(2);
    expect(await a.connect(1, 'a1')).toBe(true);
    expect(a.isOnline(1)).toBe(true);
    await until(() => b.isOnline(1), 2_000);
    expect(b.onlineAmong([1, 2])).toEqual([1]);
    expect(b.lastSeen(1)).toBeGreaterThan(0);
    expect(await a.disconnect(1, 'a1')).toBe(true);
    expect(a.isOnline(1)).toBe(false);
    await until(() => !b.isOnline(1), 2_000);
    expect(b.lastSeen(1)).toBe(a.lastSeen(1));
  });

  it('a user connected on two processes stays online until both have disconnected; true once each way', async () => {
    const { presences: [a, b] } = await deployment(2);
    expect(await a.connect(2, 'a1')).toBe(true);
    expect(await b.connect(2, 'b1')).toBe(false);
    expect(await b.connect(2, 'b2')).toBe(false);
    expect(await a.disconnect(2, 'a1')).toBe(false);
    expect(await b.disconnect(2, 'b1')).toBe(false);
    await sleep(50);
    expect(a.isOnline(2)).toBe(true);
    expect(b.isOnline(2)).toBe(true);
    expect(await b.disconnect(2, 'b2')).toBe(true);
    await until(() => !a.isOnline(2) && !b.isOnline(2), 2_000);
    // One process cannot close another's connection.
    expect(await a.connect(2, 'a2')).toBe(true);
    expect(await b.disconnect(2, 'a2')).toBe(false);
    expect(a.isOnline(2)).toBe(true);
  });

  it('a process that stops heartbeating has its users go offline by expiry within ttl, reported once', async () => {
    const ttlMs = 600;
    const h = await deployment(3, { ttlMs });
    const [dead, b, c] = h.presences;
    const expired: [string, Id, number][] = [];
    b.onExpired?.((u, at) => expired.push(['b', u, at]));
    c.onExpired?.((u, at) => expired.push(['c', u, at]));
    expect(b.onExpired, 'a shared presence reports expiries').toBeDefined();
    await dead.connect(30, 'd1');
    await dead.connect(30, 'd2');
    await dead.connect(31, 'd1');
    await b.connect(31, 'b1'); // also connected elsewhere: stays online
    await dead.setStatus(30, 'busy');
    await until(() => b.isOnline(30) && c.isOnline(30) && b.status(30) === 'busy', 2_000);
    const killedAt = Date.now();
    await h.kill(0);
    await until(() => !b.isOnline(30) && !c.isOnline(30), ttlMs + 1_000);
    const offlineAfter = Date.now() - killedAt;
    expect(offlineAfter).toBeLessThanOrEqual(ttlMs + 150);
    expect(b.isOnline(31) && c.isOnline(31)).toBe(true);
    expect(b.status(30)).toBe('offline');
    await sleep(ttlMs);
    expect(expired.map(([, u]) => u)).toEqual([30]);
    const [, , lastSeen] = expired[0];
    expect(lastSeen).toBeLessThanOrEqual(killedAt);
    expect(lastSeen).toBeGreaterThan(killedAt - ttlMs);
    expect(b.lastSeen(30)).toBe(lastSeen);
    // Nothing else went offline, and the survivors still agree.
    expect(c.onlineAmong([30, 31])).toEqual([31]);
    expect(await b.disconnect(31, 'b1')).toBe(true);
  });

  it('a status set on one process is seen on the others, and cleared when the user goes offline', async () => {
    const { presences: [a, b] } = await deployment(2);
    await a.connect(40, 'a1');
    await a.setStatus(40, 'away');
    expect(a.status(40)).toBe('away');
    await until(() => b.status(40) === 'away', 2_000);
    await b.setStatus(40, 'busy');
    await until(() => a.status(40) === 'busy', 2_000);
    await a.disconnect(40, 'a1');
    expect(a.status(40)).toBe('offline');
    await until(() => b.status(40) === 'offline', 2_000);
    await a.connect(40, 'a2');
    await until(() => b.status(40) === 'online', 2_000);
  });

  it('typing marks are shared; each expires once, on one process, even when renewed through another', async () => {
    const ttl = 300;
    const { presences: [a, b] } = await deployment(2, { typingTtlMs: ttl });
    const calls: [string, Id, Id, Id[]][] = [];
    a.onTypingExpired((c, u, now) => calls.push(['a', c, u, sorted(now)]));
    b.onTypingExpired((c, u, now) => calls.push(['b', c, u, sorted(now)]));
    expect(await a.setTyping(1, 10, true)).toEqual({ changed: true, typingNow: [10] });
    const second = await b.setTyping(1, 11, true);
    expect([second.changed, sorted(second.typingNow)]).toEqual([true, [10, 11]]);
    // 10 types on another device, through b, before a's mark expires: a renewal, not a start.
    await sleep(ttl / 2);
    const renewal = await b.setTyping(1, 10, true);
    expect([renewal.changed, sorted(renewal.typingNow)]).toEqual([false, [10, 11]]);
    await until(() => calls.length >= 1, 2_000);
    expect(calls[0]).toEqual(['b', 1, 11, [10]]);
    await until(() => calls.length >= 2, 2_000);
    await sleep(ttl * 2);
    expect(calls).toEqual([
      ['b', 1, 11, [10]],
      ['b', 1, 10, []],
    ]);
    // A mark cleared through another process never fires.
    await a.setTyping(2, 20, true);
    expect(await b.setTyping(2, 20, false)).toEqual({ changed: true, typingNow: [] });
    expect(await a.setTyping(2, 20, false)).toEqual({ changed: false, typingNow: [] });
    await sleep(ttl * 2);
    expect(calls).toHaveLength(2);
  });
}
