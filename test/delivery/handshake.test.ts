import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { useParley, startParley } from '../helpers/parley.js';
import { chatSocket, eventually, newUser, openSocket, sleep } from '../helpers/clients.js';

// The WebSocket handshake and keep-alive: Origin allow-list (cross-site WebSocket hijacking),
// frames over the limit, dead peers, compression off by default.

const refusal = (url: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      reject(new Error('opened'));
    });
    ws.once('error', () => {});
  });

describe('WebSocket handshake', () => {
  // WS_ALLOWED_ORIGINS: the older name of ALLOWED_ORIGINS, still read (test/http/cors.test.ts).
  const server = useParley({ env: { WS_ALLOWED_ORIGINS: 'https://app.example.com', WS_MAX_PAYLOAD_BYTES: '4096', WS_PING_INTERVAL_MS: '200' } });

  it('refuses a browser page on another origin with 403; allows its own origin, listed origins and non-browser clients', async () => {
    const u = await newUser(server);
    const url = `${server.wsUrl}/api/chat/ws?token=${u.token}`;
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example']) expect(await refusal(url, { origin }), origin).toBe(403);
    for (const headers of [{}, { origin: 'https://app.example.com' }, { origin: server.url }] as Record<string, string>[]) {
      const s = await openSocket(url, { headers });
      s.send({ type: 'ping' });
      await s.next('pong');
      s.close();
    }
    // Every dialect's socket goes through the same check.
    expect(await refusal(`${server.wsUrl}/api/parley/ws?token=${u.token}`, { origin: 'https://evil.example' })).toBe(403);
  });

  it('a frame over WS_MAX_PAYLOAD_BYTES closes the socket with 1009; nothing else is affected', async () => {
    const u = await newUser(server);
    const s = await chatSocket(server, u);
    s.send({ type: 'ping', pad: 'x'.repeat(5000) });
    expect((await s.closed).code).toBe(1009);
    const other = await chatSocket(server, u);
    other.send({ type: 'ping' });
    await other.next('pong');
  });

  it('a peer that stops answering pings is closed within two intervals; one that answers stays', async () => {
    const u = await newUser(server);
    const alive = await chatSocket(server, u);
    const dead = await chatSocket(server, u);
    const before = server.parley.hub.size;
    // The dead peer's process stops reading: pings go unanswered.
    (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually(() => expect(server.parley.hub.size).toBe(before - 1), { timeoutMs: 3000, intervalMs: 50 });
    await sleep(600);
    alive.send({ type: 'ping' });
    await alive.next('pong');
  });

  it('does not negotiate compression unless WS_COMPRESSION=on', async (t) => {
    const u = await newUser(server);
    const ws = new WebSocket(`${server.wsUrl}/api/chat/ws?token=${u.token}`, { perMessageDeflate: true });
    const extensions = await new Promise<string | undefined>((resolve, reject) => {
      ws.once('upgrade', (res) => resolve(res.headers['sec-websocket-extensions'] as string | undefined));
      ws.once('error', reject);
    });
    expect(extensions).toBeUndefined();
    ws.close();
    const compressed = await startParley(t, { env: { WS_COMPRESSION: 'on' } });
    const v = await newUser(compressed);
    const ws2 = new WebSocket(`${compressed.wsUrl}/api/chat/ws?token=${v.token}`, { perMessageDeflate: true });
    const ext = await new Promise<string | undefined>((resolve) => ws2.once('upgrade', (res) => resolve(res.headers['sec-websocket-extensions'] as string | undefined)));
    expect(ext).toMatch(/permessage-deflate/);
    ws2.close();
  });
});
