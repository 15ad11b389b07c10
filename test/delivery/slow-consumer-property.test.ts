import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { User } from '../../src/core/model.js';
import { CloseCodes, Connection, type EventRenderer, type WebSocketLike } from '../../src/delivery/connection.js';

// The slow-consumer rule (WS_SEND_BUFFER_BYTES): a socket is closed with 4008 when, at the first
// frame of a turn of the event loop, what it has not taken of the turns before exceeds the
// limit. A turn's own frames (a group commit's, corked together) count from the next turn on,
// so one large batch does not close a socket that reads; a socket that stops reading is closed
// with at most the limit plus one turn's frames queued. The socket here is scripted: its
// queue grows by what is sent and shrinks by what the test lets the peer read.

const LIMIT = 1000;
const user = { id: 1 } as User;
const renderer = {} as EventRenderer<null>;

function scriptedSocket() {
  const s = {
    buffered: 0,
    closedWith: null as number | null,
    corks: 0,
    _socket: { cork: () => void s.corks++, uncork: () => void s.corks-- },
    readyState: 1,
    get bufferedAmount() {
      return s.buffered;
    },
    send(data: string | Buffer) {
      s.buffered += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    },
    close(code?: number) {
      s.closedWith = code ?? null;
      s.readyState = 3;
    },
  };
  return s;
}

/** Ends this turn: the connection module uncorks in setImmediate, scheduled before this one. */
const endTurn = () => new Promise<void>((r) => setImmediate(r));

type Step = { t: 'send'; bytes: number } | { t: 'turn' } | { t: 'read'; bytes: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('send' as const), bytes: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('turn' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), bytes: fc.integer({ min: 0, max: 1500 }) }) },
);

describe('slow consumers: the send buffer is measured per turn', () => {
  it('property: closed with 4008 exactly when a turn starts past the limit; while open, at most the limit plus this turn is queued', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const ws = scriptedSocket();
        const conn = new Connection(user, ws as unknown as WebSocketLike, renderer, null, LIMIT);
        // The model: the backlog at this turn's first frame, and what this turn sent.
        let firstOfTurn = true;
        let closed = false;
        let thisTurn = 0;
        for (const s of steps) {
          if (s.t === 'turn') {
            await endTurn();
            firstOfTurn = true;
            thisTurn = 0;
          } else if (s.t === 'read') ws.buffered = Math.max(0, ws.buffered - s.bytes);
          else {
            if (!closed && firstOfTurn) {
              firstOfTurn = false;
              if (ws.buffered > LIMIT) closed = true;
            }
            const willSend = !closed;
            conn.send('x'.repeat(s.bytes));
            if (willSend) thisTurn += s.bytes;
          }
          expect(conn.closed).toBe(closed);
          expect(ws.closedWith).toBe(closed ? CloseCodes.slowConsumer : null);
          // Once this turn has sent, the socket held at most the limit when the turn began.
          if (!closed && !firstOfTurn) expect(ws.buffered).toBeLessThanOrEqual(LIMIT + thisTurn);
        }
        await endTurn();
        expect(ws.corks).toBe(0);
      }),
      { numRuns: 300, seed: 2024 },
    );
  });

  it('property: a peer that takes everything at the end of each turn is never closed, however much one turn sends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 1, max: 900 }), { maxLength: 12 }), { maxLength: 8 }), async (turns) => {
        const ws = scriptedSocket();
        const conn = new Connection(user, ws as unknown as WebSocketLike, renderer, null, LIMIT);
        for (const frames of turns) {
          for (const bytes of frames) conn.send('x'.repeat(bytes));
          await endTurn();
          ws.buffered = 0;
        }
        expect(conn.closed).toBe(false);
        expect(ws.closedWith).toBe(null);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
