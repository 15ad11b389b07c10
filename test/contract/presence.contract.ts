import fc from 'fast-check';
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

  it('typing told as changes only: frames alternate start/stop per typist, one per change, a lapse told once (property)', async () => {
    await typingStatesAlternate([await presence(120)], 120, 12, 21_7);
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

  it('typing through either process is told as changes only, each lapse once at the last renewal + ttl (property)', async () => {
    const { presences } = await deployment(2, { typingTtlMs: 250 });
    await typingStatesAlternate(presences, 250, 8, 21_7);
  });
}

type TypingStep =
  | { kind: 'start' | 'stop' | 'send'; user: Id; conversation: Id; via: number }
  | { kind: 'advance' };

/**
 * Typing as the core forwards it (PresenceService): a start or stop is told when `setTyping`
 * says it changed the state, a send stops the sender if `typingHere`, an expiry is told by the
 * listener. After any sequence of starts (a keystroke each), stops, sends and lapses of time,
 * through any of `presences` (processes sharing one deployment): the frames the members see
 * alternate start, stop per typist; each is a change of the modelled state (so their count is
 * the number of changes, whatever the keystrokes); and a lapsed mark is told stopped once, no
 * earlier than its last renewal + ttl.
 */
async function typingStatesAlternate(presences: Presence[], ttl: number, numRuns: number, seed: number): Promise<void> {
  let run = 0;
  let onExpiry: (c: Id, u: Id) => void = () => {};
  for (const p of presences) p.onTypingExpired((c, u) => onExpiry(c, u));
  const step: fc.Arbitrary<TypingStep> = fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constantFrom('start' as const), user: fc.integer({ min: 1, max: 3 }), conversation: fc.integer({ min: 0, max: 1 }), via: fc.nat(presences.length - 1) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('stop' as const, 'send' as const), user: fc.integer({ min: 1, max: 3 }), conversation: fc.integer({ min: 0, max: 1 }), via: fc.nat(presences.length - 1) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'advance' as const }) },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
      const base = 1_000 + 10 * run++; // each run its own conversations
      const frames = new Map<string, ('start' | 'stop')[]>();
      const renewed = new Map<string, number>(); // typing now (modelled) → last renewal
      let changes = 0;
      let told = 0;
      const tell = (k: string, f: 'start' | 'stop') => {
        told++;
        frames.set(k, [...(frames.get(k) ?? []), f]);
      };
      const errors: string[] = [];
      onExpiry = (c, u) => {
        const k = `${c}:${u}`;
        const last = renewed.get(k);
        if (last === undefined) errors.push(`${k} reported expired while not typing`);
        else if (Date.now() < last + ttl - TIMER_SLACK_MS) errors.push(`${k} expired ${last + ttl - Date.now()} ms early`);
        renewed.delete(k);
        changes++;
        tell(k, 'stop');
      };
      const quiesce = () => until(() => renewed.size === 0, ttl * 3 + 2_000);
      for (const s of [...steps, { kind: 'advance' as const }]) {
        if (s.kind === 'advance') {
          await quiesce();
          continue;
        }
        const p = presences[s.via];
        const c = base + s.conversation;
        const k = `${c}:${s.user}`;
        if (s.kind === 'send' && !p.typingHere(c, s.user)) continue;
        const on = s.kind === 'start';
        const at = Date.now();
        const { changed, typingNow } = await p.setTyping(c, s.user, on);
        // Read after the call: an expiry reported meanwhile came first (Redis ran it first).
        expect({ k, on, changed }).toEqual({ k, on, changed: on !== renewed.has(k) });
        expect(typingNow.includes(s.user)).toBe(on);
        if (on) renewed.set(k, at);
        else renewed.delete(k);
        if (changed) {
          changes++;
          tell(k, on ? 'start' : 'stop');
        }
      }
      expect(errors).toEqual([]);
      expect(told).toBe(changes);
      for (const [k, seen] of frames) expect({ k, seen }).toEqual({ k, seen: seen.map((_, i) => (i % 2 === 0 ? 'start' : 'stop')) });
      for (const [k, seen] of frames) expect({ k, last: seen.at(-1) }).toEqual({ k, last: 'stop' });
    }),
    { numRuns, seed },
  );
}

/** A timer may fire a few ms before the clock that stamped the renewal says it is due. */
const TIMER_SLACK_MS = 10;
