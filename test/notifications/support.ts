import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { api, openSocket, type TestSocket } from '../helpers/clients.js';
import type { TestServer } from '../helpers/parley.js';

/** A push as the device reads it (the JSON of src/backends/push/web-push.ts). */
export interface Push {
  title: string;
  body: string;
  badge: number;
  conversation_id: number;
  message_id: number | null;
  tag: string;
}

/** One POST the push service received. */
export interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** When it was received (ms since the epoch). */
  at: number;
}

/**
 * A push service on loopback: records every POST and answers `status(path)` (201 by default,
 * 410 for a subscription it has forgotten). While `holding`, a new connection is accepted but
 * not read (kept in `held`): a sender stuck there has handed nothing over yet.
 */
export class PushService {
  readonly received: Received[] = [];
  status: (path: string) => number = () => 201;
  holding = false;
  readonly held: Socket[] = [];
  #http: Server | null = null;
  #server: TcpServer | null = null;
  url = '';

  /** Stops holding: the held connections are dropped unread (their senders are gone), new ones served. */
  release(): void {
    this.holding = false;
    for (const socket of this.held.splice(0)) socket.destroy();
  }

  async start(): Promise<this> {
    const http = (this.#http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
        res.statusCode = this.status(req.url ?? '');
        res.end();
      });
    }));
    this.#server = createTcpServer({ pauseOnConnect: true }, (socket) => {
      if (this.holding) return void this.held.push(socket);
      http.emit('connection', socket);
      socket.resume();
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.release();
    this.#http?.closeAllConnections();
    return new Promise((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }

  to(device: Device): Received[] {
    return this.received.filter((r) => r.path === device.path);
  }
}

/** A browser's push subscription: its own P-256 key pair and 16-byte auth secret (RFC 8291 §3). */
export class Device {
  readonly ecdh = createECDH('prime256v1');
  readonly auth = randomBytes(16);
  readonly path = `/push/${randomBytes(6).toString('hex')}`;
  id = 0;

  constructor() {
    this.ecdh.generateKeys();
  }

  async subscribe(server: { url: string }, service: PushService, user: { token: string }): Promise<this> {
    const r = await api(server, 'POST', '/api/parley/push/subscriptions', {
      token: user.token,
      json: { kind: 'web', device_id: this.path, endpoint: service.url + this.path, keys: { p256dh: this.ecdh.getPublicKey('base64url'), auth: this.auth.toString('base64url') } },
    });
    if (r.status !== 201) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
    this.id = r.body.id;
    return this;
  }

  /** RFC 8291 (aes128gcm, RFC 8188): the push's plaintext, decrypted with this device's private key and auth secret. */
  decrypt(body: Buffer): Push {
    const salt = body.subarray(0, 16);
    const idLength = body[20];
    const asPublic = body.subarray(21, 21 + idLength);
    const ciphertext = body.subarray(21 + idLength);
    const uaPublic = this.ecdh.getPublicKey();
    const ecdhSecret = this.ecdh.computeSecret(asPublic);
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
    const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, this.auth, keyInfo, 32));
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
    const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
    // The last record: the content, then the delimiter 0x02, then zero padding.
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    if (padded[end] !== 2) throw new Error('no last-record delimiter');
    return JSON.parse(padded.subarray(0, end).toString('utf8'));
  }
}

/** The dispatcher's clock: handle every push due by `ahead` ms from now (servers run with NOTIFY_POLL_MS=0). */
export const dispatch = (server: TestServer, aheadMs = 60_000) => server.parley.core.notifications.tick(Date.now() + aheadMs);

/** A device on Parley's own socket, subscribed; it acks only when a test sends `ack` (the SDK acks by itself). */
export async function parleyDevice(server: TestServer, u: { token: string }): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(u.token)}`);
  await s.next('ready');
  s.send({ type: 'subscribe' });
  await s.next('subscribed');
  return s;
}
