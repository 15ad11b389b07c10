import fc from 'fast-check';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { api, newRoom, newUser, openSocket, type TestSocket, type TestUser } from '../helpers/clients.js';

// Issue 14 item 6: how big a frame may be depends on the socket's phase and document.
//   - not authenticated yet (003's and Parley's first-frame auth): 16 KiB;
//   - authenticated, 003 / 004 / Parley: WS_MAX_FRAME_BYTES (1 MiB);
//   - authenticated, /api/chat and 002: the same for what is not file_data; with base64 files,
//     up to WS_MAX_PAYLOAD_BYTES.
// Over it: closed with 1009. Before, every socket took 80 MiB frames, anonymous ones included.

const KiB = 1024;
const MiB = 1024 * KiB;
const PRE_AUTH = 16 * KiB;
const FRAME = 1 * MiB;

type Kind = '003 first frame' | 'parley first frame' | '003' | '004' | 'parley' | '/api/chat' | '002';
const KINDS: Kind[] = ['003 first frame', 'parley first frame', '003', '004', 'parley', '/api/chat', '002'];
const limitOf = (k: Kind) => (k.endsWith('first frame') ? PRE_AUTH : FRAME);

/** A JSON frame of exactly `size` bytes: `fields` plus a `pad` string. */
function padded(fields: Record<string, unknown>, size: number): string {
  const head = JSON.stringify({ ...fields, pad: '' });
  return head.slice(0, -2) + 'x'.repeat(size - head.length) + '"}';
}

describe('frame limits per phase and document', () => {
  const server = useParley();
  let u: TestUser;
  let room: number;
  beforeAll(async () => {
    u = await newUser(server);
    room = await newRoom(server, u, await newUser(server));
  });

  const open = (k: Kind): Promise<TestSocket> => {
    const t = encodeURIComponent(u.token);
    const path = {
      '003 first frame': `/ws/chat/${u.user.tenant_id}/`,
      'parley first frame': '/api/parley/ws',
      '003': `/ws/chat/${u.user.tenant_id}/?token=${t}`,
      '004': `/api/v1/chat/ws/chat?token=${t}`,
      parley: `/api/parley/ws?token=${t}`,
      '/api/chat': `/api/chat/ws?token=${t}&room_id=${room}`,
      '002': `/api/v1/chat/ws?token=${t}&room_id=${room}`,
    }[k];
    return openSocket(server.wsUrl + path);
  };

  /** Sends one frame of `size` bytes; 'answered' if the server replied with a frame, else the close code. */
  async function outcome(k: Kind, size: number): Promise<'answered' | number> {
    const s = await open(k);
    try {
      // Before authentication the frame is the authenticating one; after, a ping (Parley answers
      // its unknown `pad` with an error frame: read, and answered all the same).
      const fields = k === '003 first frame' ? { type: 'authenticate', token: u.token } : k === 'parley first frame' ? { type: 'auth', token: u.token } : { type: 'ping' };
      const expected = k === '003 first frame' ? 'connection_established' : k === 'parley first frame' ? 'ready' : null;
      if (expected === null) await s.next(null, { timeoutMs: 1000 }).catch(() => {}); // greetings (004, Parley), if any
      s.send(padded(fields, size));
      const reply = s.next(expected ?? null, { timeoutMs: 10_000, where: (f) => expected !== null || ['pong', 'error'].includes(f.type) }).then(() => 'answered' as const);
      return await Promise.race([reply, s.closed.then((c) => c.code)]);
    } finally {
      s.ws.terminate();
    }
  }

  it('property: a frame closes its socket with 1009 exactly when it is over the limit of the socket\'s phase and document', { timeout: 180_000 }, async () => {
    const sizes = (limit: number) => fc.oneof(fc.constant(limit), fc.constant(limit + 1), fc.integer({ min: limit - limit / 2, max: limit - 1 }), fc.integer({ min: limit + 2, max: limit + limit / 2 }));
    const arb = fc.constantFrom(...KINDS).chain((k) => fc.tuple(fc.constant(k), sizes(limitOf(k))));
    await fc.assert(
      fc.asyncProperty(arb, async ([k, size]) => {
        const got = await outcome(k, size);
        expect(got, `${k}, ${size} bytes (limit ${limitOf(k)})`).toBe(size > limitOf(k) ? 1009 : 'answered');
      }),
      { numRuns: 35, seed: 20260614, endOnFailure: true },
    );
  });

  it('every kind at its exact limit is answered, one byte over is closed 1009', async () => {
    for (const k of KINDS) {
      expect(await outcome(k, limitOf(k)), k).toBe('answered');
      expect(await outcome(k, limitOf(k) + 1), k).toBe(1009);
    }
  });

  it('on /api/chat a frame over WS_MAX_FRAME_BYTES is taken when what is over is file_data; extra JSON past the limit closes it', async () => {
    const s = await open('/api/chat');
    const file = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2 * MiB, 0x20), Buffer.from('\n%%EOF\n')]);
    const frame = (extra: Record<string, unknown>) =>
      JSON.stringify({ type: 'send_message', data: { room_id: room, message_type: 'file', local_temp_id: 'big-1', files_data: [{ file_data: file.toString('base64'), file_name: 'a.pdf', mime_type: 'application/pdf' }] }, ...extra });
    s.send(frame({}));
    const ack = await s.next('new_message', { timeoutMs: 20_000 });
    expect(ack.data.files_data[0].file_size).toBe(file.length);
    s.send(frame({ pad: 'x'.repeat(FRAME) }));
    expect((await s.closed).code).toBe(1009);
  });
});

describe('the per-socket limit rides on ws internals (fails if a ws upgrade renames them)', () => {
  const server = useParley({ env: { WS_COMPRESSION: 'on' } });
  let u: TestUser;
  beforeAll(async () => {
    u = await newUser(server);
  });

  /** What src/dialects/shared/admission.ts (setFrameLimit) sets: ws 8's Receiver keeps its limit here. */
  const frameLimitOf = (ws: WebSocket) => (ws as unknown as { _receiver: { _maxPayload: unknown } })._receiver._maxPayload;
  /** The server side of the socket opened last. */
  const newest = () => [...server.parley.app.websocketServer.clients].at(-1)! as WebSocket & { _extensions: Record<string, { _maxPayload: number }> };

  it('Receiver._maxPayload and PerMessageDeflate._maxPayload hold each phase\'s limit', async () => {
    const pending = await openSocket(`${server.wsUrl}/ws/chat/${u.user.tenant_id}/`);
    const ws = newest();
    expect(frameLimitOf(ws)).toBe(PRE_AUTH);
    expect(ws._extensions['permessage-deflate']._maxPayload).toBe(PRE_AUTH);
    pending.send({ type: 'authenticate', token: u.token });
    await pending.next('connection_established');
    expect(frameLimitOf(ws)).toBe(FRAME);
    expect(ws._extensions['permessage-deflate']._maxPayload).toBe(FRAME);
    pending.close();

    const chat = await openSocket(`${server.wsUrl}/api/chat/ws?token=${u.token}`);
    chat.send({ type: 'ping' });
    await chat.next('pong');
    const cws = newest();
    // Fail-closed: the server's own limit is the unauthenticated one; only a raise opens more.
    expect(server.parley.app.websocketServer.options.maxPayload).toBe(PRE_AUTH);
    expect(frameLimitOf(cws)).toBe(80 * MiB);
    expect(cws._extensions['permessage-deflate']._maxPayload).toBe(80 * MiB);
  });

  it('a compressed frame that inflates past 16 KiB closes an unauthenticated socket with 1009', async () => {
    const s = new WebSocket(`${server.wsUrl}/api/parley/ws`, { perMessageDeflate: true });
    await new Promise((r) => s.once('open', r));
    const closed = new Promise<number>((r) => s.once('close', (code) => r(code)));
    // 200 KiB of one letter: a few hundred bytes on the wire, far more once inflated.
    s.send(JSON.stringify({ type: 'auth', token: u.token, pad: 'a'.repeat(200 * KiB) }));
    expect(await closed).toBe(1009);
    const res = await api(server, 'GET', '/healthz');
    expect(res.status).toBe(200);
  });
});
