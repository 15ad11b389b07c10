import { randomBytes } from 'node:crypto';
import net from 'node:net';

/**
 * A WebSocket client over plain TCP that does only what it is told: it never answers a close
 * frame or a ping (a peer that is gone, or an attacker), and can pipeline frames behind the
 * upgrade request. What the server does with such a peer is what it does for real.
 */
export class RawSocket {
  /** The handshake's HTTP status (101 when upgraded), once `answered` resolved. */
  status = 0;
  /** The handshake answer's body (for a refusal: `{"detail"}`). */
  body = '';
  /** Frames from the server: opcode and payload. */
  readonly frames: { opcode: number; payload: Buffer }[] = [];
  /** Resolves when the handshake is answered. */
  readonly answered: Promise<void>;
  /** Resolves with performance.now() when the server ended or reset the TCP connection. */
  readonly ended: Promise<number>;
  #buf = Buffer.alloc(0);
  #headDone = false;
  #onFrame: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    let answer!: () => void;
    this.answered = new Promise((r) => (answer = r));
    this.ended = new Promise((resolve) => {
      socket.on('error', () => {});
      socket.on('close', () => {
        answer();
        resolve(performance.now());
      });
      socket.on('end', () => resolve(performance.now()));
    });
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      if (!this.#headDone) {
        const end = this.#buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.#buf.subarray(0, end).toString('latin1');
        this.status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
        this.#buf = this.#buf.subarray(end + 4);
        this.#headDone = true;
        answer();
      }
      if (this.status !== 101) {
        this.body = this.#buf.toString('utf8');
        return;
      }
      this.#parse();
    });
  }

  #parse() {
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      this.frames.push({ opcode: b[0] & 0x0f, payload: Buffer.from(b.subarray(at, at + len)) });
      this.#buf = b.subarray(at + len);
      for (const f of this.#onFrame.splice(0)) f();
    }
  }

  /** The close code the server sent, if it sent one. */
  get closeCode(): number | null {
    const c = this.frames.find((f) => f.opcode === 8);
    return c && c.payload.length >= 2 ? c.payload.readUInt16BE(0) : null;
  }

  /** Text frames from the server, parsed. */
  get messages(): { type: string; [k: string]: unknown }[] {
    return this.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString('utf8')));
  }

  /** Waits until a frame matching `pred` has arrived (or the connection ended), up to timeoutMs. */
  async until(pred: (s: RawSocket) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.ended.then(() => (ended = true));
    while (!pred(this)) {
      if (ended || Date.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms; frames: ${this.frames.map((f) => f.opcode).join(',')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#onFrame.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** Sends a masked text frame (zero mask key: the payload goes out as is). */
  send(payload: string | Buffer): void {
    this.socket.write(maskedFrame(payload));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A client text frame: FIN, opcode 1, masked with a zero key. */
export function maskedFrame(payload: string | Buffer): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(14);
  h[0] = 0x81;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(p.length), 2);
  return Buffer.concat([h, p]);
}

/**
 * Opens `path` on the server at `wsUrl` over raw TCP; `pipelined` frames go out in the same
 * write as the upgrade request, before any answer (so the server has them before it decides).
 */
export async function rawSocket(wsUrl: string, path: string, opts: { headers?: Record<string, string>; pipelined?: Buffer[] } = {}): Promise<RawSocket> {
  const { hostname, port } = new URL(wsUrl);
  const socket = net.connect(Number(port), hostname);
  const raw = new RawSocket(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const headers = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`,
  );
  socket.write(Buffer.concat([request, ...(opts.pipelined ?? [])]));
  await raw.answered;
  return raw;
}
