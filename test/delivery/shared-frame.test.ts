import fc from 'fast-check';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { User } from '../../src/core/model.js';
import { Connection, SharedFrame, type EventRenderer, type WebSocketLike } from '../../src/delivery/connection.js';

// A broadcast's frame is built once (SharedFrame.wire) and written to each socket's stream past
// `ws`'s Sender. The rule: a client reads exactly the frames sent, in the order sent, whatever
// their sizes (the three length encodings of RFC 6455) and whatever `ws` itself sends between
// them (string frames, pings); with compression negotiated every frame goes through `ws`.
// Real sockets on both ends: the client is `ws`, which rejects a malformed frame.

const user = { id: 1 } as User;
const renderer = {} as EventRenderer<null>;
const servers: WebSocketServer[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server socket wrapped in a Connection, its client, and what the client has read. */
async function pair(perMessageDeflate: boolean) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate, maxPayload: 1 << 20 });
  servers.push(wss);
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { perMessageDeflate, maxPayload: 1 << 20 });
  clients.push(client);
  const received: string[] = [];
  let pings = 0;
  client.on('message', (data, isBinary) => {
    expect(isBinary).toBe(false);
    received.push(data.toString('utf8'));
  });
  client.on('ping', () => pings++);
  const [server] = await accepted;
  await once(client, 'open');
  // Counts the frames that went through `ws` (the path a SharedFrame takes only when it must).
  let throughWs = 0;
  const send = server.send.bind(server);
  server.send = ((data: unknown, ...rest: unknown[]) => {
    throughWs++;
    return (send as (...a: unknown[]) => void)(data, ...rest);
  }) as typeof server.send;
  const conn = new Connection(user, server as unknown as WebSocketLike, renderer, null, 64 << 20);
  return { server, client, conn, received, pings: () => pings, throughWs: () => throughWs };
}

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Payload sizes around each length encoding's edges, and anywhere up to past 64 KiB. */
const size = fc.oneof(fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 65537), fc.integer({ min: 0, max: 70_000 }));
type Step = { t: 'shared'; bytes: number; char: string } | { t: 'string'; bytes: number } | { t: 'ping' } | { t: 'turn' };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('shared' as const), bytes: size, char: fc.constantFrom('a', 'é', '€', '😀') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('string' as const), bytes: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ping' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('turn' as const) }) },
);

/** A JSON-ish text of about `bytes` UTF-8 bytes, numbered so each frame is told apart. */
const text = (n: number, bytes: number, char: string) => {
  const head = `${n}:`;
  const unit = Buffer.byteLength(char);
  return head + char.repeat(Math.max(0, Math.floor((bytes - head.length) / unit)));
};

describe('shared frames: built once, written past ws, read as sent', () => {
  it.each([false, true])('property: a client reads every frame, in order, byte for byte (compression %s)', async (deflate) => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const p = await pair(deflate);
        const expected: string[] = [];
        let pings = 0;
        let shared = 0;
        for (const s of steps) {
          if (s.t === 'turn') await new Promise((r) => setImmediate(r));
          else if (s.t === 'ping') {
            p.server.ping();
            pings++;
          } else if (s.t === 'string') {
            const t = text(expected.length, s.bytes, 'x');
            expected.push(t);
            p.conn.send(t);
          } else {
            const t = text(expected.length, s.bytes, s.char);
            expected.push(t);
            shared++;
            p.conn.send(new SharedFrame(t));
          }
        }
        await until(() => p.received.length >= expected.length && p.pings() >= pings);
        expect(p.received).toEqual(expected);
        const strings = steps.filter((s) => s.t === 'string').length;
        // Without compression no shared frame went through ws; with it, every one did.
        expect(p.throughWs()).toBe(deflate ? strings + shared : strings);
        p.client.terminate();
      }),
      { numRuns: 25 },
    );
  });

  it('one frame to many sockets: its bytes are encoded once and each client reads them', async () => {
    const pairs = await Promise.all([0, 1, 2].map(() => pair(false)));
    const frame = new SharedFrame(JSON.stringify({ type: 'new_message', data: { text: 'hello €' } }));
    for (const p of pairs) p.conn.send(frame);
    for (const p of pairs) await until(() => p.received.length === 1);
    // Written as built: no socket had `ws` frame it again.
    for (const p of pairs) expect(p.throughWs()).toBe(0);
    for (const p of pairs) expect(JSON.parse(p.received[0])).toEqual({ type: 'new_message', data: { text: 'hello €' } });
  });

  it('a socket closing gets nothing more, and a closed one is not written to', async () => {
    const p = await pair(false);
    p.conn.send(new SharedFrame('before'));
    p.server.close(1000, 'bye');
    p.conn.send(new SharedFrame('after'));
    const [code] = (await once(p.client, 'close')) as [number];
    expect(code).toBe(1000);
    expect(p.received).toEqual(['before']);
  });
});
