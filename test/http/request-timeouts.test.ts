import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { pdf } from '../../scripts/crash/client.js';
import { useParley } from '../helpers/parley.js';
import { newUser, openSocket, sleep } from '../helpers/clients.js';

// A peer cannot hold a connection by sending slowly: headers must arrive within
// HTTP_HEADERS_TIMEOUT_MS, a whole request within HTTP_REQUEST_TIMEOUT_MS, and a connection
// that moves no byte for HTTP_IDLE_TIMEOUT_MS is closed. An upload at a steady pace, and a
// quiet WebSocket, are not cut. Short timeouts here; the defaults are in README.

/** A raw TCP client: what it received, and when the server closed it. */
function rawClient(url: string): Promise<{ socket: net.Socket; received: () => string; closedAt: Promise<number> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    const closedAt = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, received: () => data, closedAt }));
    socket.once('error', reject);
  });
}

/** Writes `bytes` one at a time every `everyMs` until the socket closes; returns a stopper. */
function dribble(socket: net.Socket, bytes: string, everyMs: number): () => void {
  let i = 0;
  const t = setInterval(() => {
    if (socket.destroyed || i >= bytes.length) return clearInterval(t);
    socket.write(bytes[i++]);
  }, everyMs);
  return () => clearInterval(t);
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms))]);

describe('request timeouts', () => {
  const server = useParley({ env: { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_IDLE_TIMEOUT_MS: '1000' } });

  it('headers sent a byte at a time (Slowloris) are cut after HTTP_HEADERS_TIMEOUT_MS', async () => {
    const c = await rawClient(server.url);
    const t0 = Date.now();
    const stop = dribble(c.socket, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, 100);
    const closed = await within(c.closedAt, 6000, 'slow headers');
    stop();
    console.log(`slow headers: closed after ${closed - t0} ms (HTTP_HEADERS_TIMEOUT_MS=1000)`);
    expect(closed - t0).toBeGreaterThanOrEqual(900);
    // In the shape of every refusal (docs/codes.md).
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*\r\n\r\n\{"detail":"Request Timeout"\}$/);
  });

  it('a body dribbled a byte at a time is cut after HTTP_REQUEST_TIMEOUT_MS, though never idle that long', async () => {
    const c = await rawClient(server.url);
    const t0 = Date.now();
    c.socket.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const stop = dribble(c.socket, ' '.repeat(999), 100);
    const closed = await within(c.closedAt, 8000, 'dribbled body');
    stop();
    console.log(`dribbled body: closed after ${closed - t0} ms (HTTP_REQUEST_TIMEOUT_MS=2000)`);
    expect(closed - t0).toBeGreaterThanOrEqual(1900);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 [\s\S]*\{"detail":"Request Timeout"\}$/);
  });

  it('a body that stops arriving is cut after HTTP_IDLE_TIMEOUT_MS', async () => {
    const c = await rawClient(server.url);
    const t0 = Date.now();
    c.socket.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":');
    const closed = await within(c.closedAt, 6000, 'stalled body');
    console.log(`stalled body: closed after ${closed - t0} ms (HTTP_IDLE_TIMEOUT_MS=1000)`);
    expect(closed - t0).toBeGreaterThanOrEqual(900);
  });

  it('an upload at a steady pace longer than the idle timeout goes through', async () => {
    const a = await newUser(server);
    const file = pdf('paced', 1_200_000);
    const boundary = 'paced-upload-boundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="paced.pdf"\r\nContent-Type: application/pdf\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const c = await rawClient(server.url);
    c.socket.write(
      `POST /api/parley/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${a.token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    // 1.2 MB in 100 KB pieces every 120 ms: 1.4 s in all, longer than the idle timeout, never idle.
    const t0 = Date.now();
    for (let at = 0; at < body.length; at += 100_000) {
      c.socket.write(body.subarray(at, at + 100_000));
      await sleep(120);
    }
    await within(c.closedAt, 10_000, 'paced upload');
    expect(Date.now() - t0).toBeGreaterThan(1000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 201/);
  });

  it('a WebSocket quiet for longer than every timeout stays open', async () => {
    const a = await newUser(server);
    const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${a.token}`);
    await s.next('ready');
    await sleep(2600);
    s.send({ type: 'ping' });
    await s.next('pong');
  });
});
