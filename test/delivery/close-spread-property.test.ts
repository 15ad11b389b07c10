import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/backends/bus/memory-bus.js';
import type { User } from '../../src/core/model.js';
import { CloseCodes, Connection, type EventRenderer, type WebSocketLike } from '../../src/delivery/connection.js';
import { Hub, spreadDelays, type Schedule } from '../../src/delivery/hub.js';

// Issue 21 item 5: after a Redis loss (bus.onGap), Hub.closeAllOver silences every socket at
// once and closes each with 1012 within RECONNECT_SPREAD_MS, spread so that the clients do not
// come back together. The hub runs on a fake clock (its `schedule` option); the sockets are
// real `ws` sockets over loopback, and what their clients receive is checked too.

/** Timers that run only when the test moves time on, in order of their moment (then of scheduling). */
class FakeClock {
  now = 0;
  #queue: { at: number; n: number; run: () => void }[] = [];
  #n = 0;
  readonly schedule: Schedule = (run, delayMs) => {
    this.#queue.push({ at: this.now + delayMs, n: this.#n++, run });
  };
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      this.#queue.sort((x, y) => x.at - y.at || x.n - y.n);
      const next = this.#queue[0];
      if (!next || next.at > until) break;
      this.#queue.shift();
      this.now = next.at;
      next.run();
    }
    this.now = until;
  }
}

const user = (id: number): User => ({
  id, uuid: `u-${id}`, tenantId: 1, tenantUuid: 't', email: `${id}@example.test`, name: `User ${id}`, avatarUrl: null,
  tokenVersion: 0, lastSeenAt: null, createdAt: 0, tenantRole: 'member', isBot: false, suspendedAt: null, isOperator: false,
});
const renderer: EventRenderer = { name: 'none', key: () => null, frame: () => '' };

/** One socket of the run: its real client, its Connection in the hub, and what the hub did to it. */
interface Peer {
  client: WebSocket;
  conn: Connection;
  /** Frames the client received. */
  frames: string[];
  /** Every close the hub's Connection asked of the server socket: code, fake moment, silenced then. */
  closes: { code: number; at: number; silenced: boolean }[];
  /** What the client saw at its close. */
  clientClose: Promise<number>;
  /** Resolves once the server side saw the socket close (the session's remove then ran). */
  serverClosed: Promise<void>;
  /** The fake moment and window of the gap that silenced it, if one did. */
  gap: { at: number; batch: number } | null;
  /** The client closed it itself: at this fake moment, and whether the server had seen it before time moved. */
  selfClosed: { at: number; seen: boolean } | null;
}

let wss: WebSocketServer;
let url: string;
const arrivals = new Map<string, (ws: WebSocket) => void>();

beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  wss.on('connection', (ws, req) => arrivals.get(req.url!.slice(2))?.(ws));
});
afterAll(() => new Promise<void>((r) => wss.close(() => r())));

let peerIds = 0;
async function connect(hub: Hub, clock: FakeClock): Promise<Peer> {
  const id = String(++peerIds);
  const server = new Promise<WebSocket>((r) => arrivals.set(id, r));
  const client = new WebSocket(`${url}?${id}`);
  const frames: string[] = [];
  client.on('message', (d) => frames.push(String(d)));
  const clientClose = new Promise<number>((r) => client.once('close', (code) => r(code)));
  await new Promise<void>((r, j) => {
    client.once('open', () => r());
    client.once('error', j);
  });
  const ws = await server;
  arrivals.delete(id);
  const closes: Peer['closes'] = [];
  // The real server socket; the hub's calls of close are recorded on their way to it.
  const socket: WebSocketLike = {
    send: (data, options) => ws.send(data, options ?? {}),
    close: (code, reason) => {
      closes.push({ code: code ?? 0, at: clock.now, silenced: conn.silenced });
      ws.close(code, reason);
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    get readyState() {
      return ws.readyState;
    },
  };
  const conn: Connection = new Connection(user(Number(id)), socket, renderer, null, 1 << 20);
  // What SocketSession does on a socket's close (src/dialects/shared/socket.ts).
  const serverClosed = new Promise<void>((r) =>
    ws.once('close', () => {
      conn.closed = true;
      hub.remove(conn);
      r();
    }),
  );
  hub.add(conn);
  return { client, conn, frames, closes, clientClose, serverClosed, gap: null, selfClosed: null };
}

type Step =
  | { kind: 'connect'; count: number }
  | { kind: 'gap' }
  | { kind: 'selfClose'; pick: number; seen: boolean }
  | { kind: 'advance'; fraction: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('connect' as const), count: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'gap' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('selfClose' as const), pick: fc.nat(), seen: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), fraction: fc.double({ min: 0, max: 1.2, noNaN: true }) }) },
);
/** Math.random's range, boundaries included: 0 and the largest double below 1. */
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** The most moments of `times` in any half-open stretch `[t, t + span)` (the worst starts at one of them). */
function densest(times: readonly number[], span: number): number {
  const sorted = [...times].sort((x, y) => x - y);
  let most = 0;
  // Less a nanosecond (1e-6 ms): the close times are the gap's moment plus a delay in floating point, so a
  // draw just below 1 (a close at its slot's end − 1e-15 ms) and the slot after next's start can
  // land one rounding error closer than a slot apart (CI: seed 451732904, three in 1.1 ms of 11).
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j] < sorted[i] + span - 1e-6) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe('Hub.closeAllOver after a bus gap', () => {
  it('property: every socket open at a gap is silenced then and closed once with 1012 within the window, spread; those that closed themselves are skipped', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 10_000 }) }),
        fc.array(unit, { minLength: 1, maxLength: 40 }),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (windowMs, draws, steps) => {
          const clock = new FakeClock();
          const errors: unknown[] = [];
          const hub = new Hub(new MemoryBus(), { schedule: clock.schedule, onError: (e) => errors.push(e) });
          let d = 0;
          const random = () => draws[d++ % draws.length];
          const peers: Peer[] = [];
          let batches = 0;
          try {
            for (const s of [{ kind: 'connect', count: 3 } as Step, ...steps, { kind: 'gap' } as Step]) {
              if (s.kind === 'connect') {
                for (let i = 0; i < s.count; i++) peers.push(await connect(hub, clock));
              } else if (s.kind === 'gap') {
                const open = peers.filter((p) => !p.conn.closed && !p.conn.silenced);
                const batch = batches++;
                hub.closeAllOver(CloseCodes.serviceRestart, 'event stream interrupted; reconnect and resume', windowMs, random);
                for (const p of peers.filter((q) => !q.conn.closed)) expect(p.conn.silenced, 'silenced at the gap').toBe(true);
                for (const p of open) p.gap = { at: clock.now, batch };
                // Nothing reaches a silenced socket (it would show what follows a hole).
                for (const p of open) p.conn.send('after the gap');
              } else if (s.kind === 'selfClose') {
                const open = peers.filter((p) => !p.selfClosed && p.closes.length === 0);
                if (open.length === 0) continue;
                const p = open[s.pick % open.length];
                p.selfClosed = { at: clock.now, seen: s.seen };
                p.client.close(1000, 'bye');
                if (s.seen) await p.serverClosed;
              } else {
                clock.advance(s.fraction * windowMs);
              }
            }
            clock.advance(windowMs + 1);
            expect(errors).toEqual([]);

            // Closed by the hub: exactly those a gap silenced, once, with 1012, within the window after it.
            for (const p of peers) {
              if (!p.gap) {
                expect(p.closes, 'never silenced, never closed by the hub').toEqual([]);
                continue;
              }
              // Closed itself before the hub's moment (it is picked only while the hub has not closed it).
              if (p.selfClosed?.seen) expect(p.closes, 'closed itself, seen by the server: skipped').toEqual([]);
              // Its close frame still in flight: the hub's close may cross it, once at most.
              else if (p.selfClosed) expect(p.closes.length).toBeLessThanOrEqual(1);
              else expect(p.closes).toHaveLength(1);
              for (const c of p.closes) {
                expect(c.code).toBe(1012);
                expect(c.silenced, 'silenced before its close').toBe(true);
                expect(c.at).toBeGreaterThanOrEqual(p.gap.at);
                expect(c.at).toBeLessThanOrEqual(p.gap.at + windowMs);
              }
            }
            // Spread: of the n a gap silenced, no more than ceil(n/k)+1 close in any k-th of the window.
            if (windowMs > 0) {
              for (let b = 0; b < batches; b++) {
                const batch = peers.filter((p) => p.gap?.batch === b);
                const n = batch.length;
                const times = batch.flatMap((p) => p.closes.map((c) => c.at));
                for (let k = 1; k <= Math.max(1, n); k++) {
                  expect(densest(times, windowMs / k), `${n} closes, a 1/${k} of ${windowMs} ms`).toBeLessThanOrEqual(Math.ceil(n / k) + 1);
                }
              }
            }

            // What the clients saw: 1012 from the hub, their own 1000, nothing after their silencing.
            for (const p of peers) if (!p.gap && !p.selfClosed) p.client.close(1000, 'done');
            for (const p of peers) {
              const code = await p.clientClose;
              if (p.closes.length === 1 && !p.selfClosed) expect(code).toBe(1012);
              else if (p.selfClosed && p.closes.length === 0) expect(code).toBe(1000);
              expect(p.frames).toEqual([]);
            }
          } finally {
            for (const p of peers) p.client.terminate();
          }
        },
      ),
      {
        numRuns: process.env.CI ? 25 : Number(process.env.FC_RUNS ?? 60),
        seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined,
        // Found by this property: a draw just below 1 rounded onto the next slot's start, where
        // that slot's draw of 0 put its close too (six closes in a third of 1 ms, for 12).
        examples: [[1, [0.9999999999999994, 0], [{ kind: 'gap' }, { kind: 'connect', count: 12 }]]],
      },
    );
  }, 120_000);

  it('spreadDelays: one moment in each n-th of the window, whatever the draws', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.double({ min: 0.001, max: 1e6, noNaN: true }), unit, (n, windowMs, r) => {
        const delays = spreadDelays(n, windowMs, () => r);
        expect(delays).toHaveLength(n);
        delays.forEach((t, i) => {
          const [start, end] = [(i * windowMs) / n, ((i + 1) * windowMs) / n];
          expect(t).toBeGreaterThanOrEqual(start);
          // Its own slot, end excluded: the next slot's first moment is not this one's.
          expect(t < end || t === start).toBe(true);
          expect(t).toBeLessThan(windowMs);
        });
      }),
      // Found by CI: 3 × (10972.22… / 3) rounds above the window, and r near 1 reached it.
      { examples: [[3, 10972.221063466586, 0.9999999999999992]] },
    );
  });
});
