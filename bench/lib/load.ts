// The load generator of `npm run bench`: N pairs of simulated clients in this one process,
// each sending to its partner, against Parley (/api/chat, document 001) or the floor relay.
//
// Cost per message on this side is kept small because the load generator shares the two
// cores with the server: the send frame is one template string, received frames are never
// JSON-parsed (the type is checked on the raw bytes, the message id `tag:idx:seq:` is read
// straight out of the Buffer after `"content":"`), timestamps are doubles from
// performance.now() (one monotonic clock for send and receive), and all per-message state
// lives in typed arrays indexed by seq.
import WebSocket from 'ws';
import { Samples } from './stats.js';
import { cpuSeconds, machineBusySeconds, rssKb, sleep } from './proc.js';

export type Kind = 'parley' | 'floor';

export interface Client {
  idx: number;
  peer: Client;
  ws: WebSocket | null;
  dead: boolean;
  closing: boolean;
  // Parley accounts
  token: string;
  userId: number;
  roomId: number;
  // fixed parts of the send frame
  head: string; // {"type":"send_message","data":{…,"content":"
  // per phase
  sent: number;
  inflight: number;
  oldest: number;
  nextDue: number;
  sendT: Float64Array; // send time (ms) per seq
  left: Uint8Array; // 1 = not yet delivered to the partner, 0 = delivered, 2 = timed out
  acked: Uint8Array; // own copy (Parley's ack) seen, per seq
  recv: Uint8Array; // how many times each of the partner's seqs arrived here
}

export interface LoadOptions {
  pairs: number;
  size: number;
  window: number;
  rate: number; // per client, msg/s; 0 = closed loop
  warmup: number; // s
  duration: number; // s
  drain: number; // s
  msgTimeout: number; // s
  settle: number; // s
  connectConcurrency: number;
  setupConcurrency: number;
}

export interface PhaseResult {
  mode: string; // "closed W=1" | "open R=…/s"
  senders: number;
  sent: number;
  sentInWindow: number;
  delivered: number;
  deliveredInWindow: number;
  msgPerSec: number; // deliveries inside the window ÷ duration
  perClientPerSec: number;
  offeredPerSec: number | null; // open loop: rate × senders
  lat: Float64Array; // send→receive, ms
  ackLat: Float64Array; // send→own copy (Parley), ms
  acked: number;
  lost: number;
  duplicated: number;
  ackDuplicates: number;
  timedOut: number;
  foreign: number; // frames of an earlier phase or with an unknown id
  unexpected: number;
  otherFrames: number; // frames that are neither messages nor errors (presence, …)
  errorFrames: number;
  errors: Record<string, number>;
  errorSamples: string[];
  serverCpuCores: number | null;
  loadCpuCores: number;
  /** CPU used by everything else on the machine during the window (noise). */
  otherCpuCores: number | null;
  serverRssEndKb: number | null;
  /** process.hrtime (CLOCK_MONOTONIC) of the window, µs: lets a CPU profile be cut to it. */
  windowMonoUs: [number, number];
}

const WS_OPTS: WebSocket.ClientOptions = {
  perMessageDeflate: false,
  maxPayload: 16 * 1024 * 1024,
  skipUTF8Validation: true,
  // An all-zero mask: ws then skips the XOR over every outgoing payload (RFC 6455 allows any
  // key; this only saves load-generator CPU, the server still runs its unmask loop).
  generateMask: () => {},
};

const CONTENT_KEY = Buffer.from('"content":"');
const P_NEW = Buffer.from('{"type":"new_message"'); // Parley's delivery (and the sender's own copy = ack)
const P_SEND = Buffer.from('{"type":"send_message"'); // the floor relays our own frame as is
const P_ERROR = Buffer.from('{"type":"error"');
const COLON = 0x3a;

function hasPrefix(b: Buffer, p: Buffer): boolean {
  if (b.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
  return true;
}

const INITIAL_CAP = 1024;
function grow<T extends Float64Array | Uint8Array>(a: T, need: number): T {
  let n = a.length;
  while (n <= need) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Per-phase state: a fresh tag so frames of an earlier phase are told apart. */
class Phase {
  readonly tag: string;
  readonly tagBytes: Buffer;
  mStart = Infinity;
  mEnd = Infinity;
  sending = false;
  closedLoop = true;
  lat = new Samples();
  ackLat = new Samples();
  delivered = 0;
  deliveredInWindow = 0;
  sentInWindow = 0;
  acked = 0;
  ackDuplicates = 0;
  timedOut = 0;
  foreign = 0;
  unexpected = 0;
  otherFrames = 0;
  errorFrames = 0;
  constructor(n: number) {
    this.tag = `${n.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    this.tagBytes = Buffer.from(`${this.tag}:`);
  }
}

export class Load {
  readonly clients: Client[] = [];
  errors: Record<string, number> = {};
  errorSamples: string[] = [];
  #phase: Phase;
  #phases = 0;
  readonly #pad: string;

  constructor(
    readonly kind: Kind,
    readonly url: string, // floor: ws://127.0.0.1:P ; parley: http://127.0.0.1:P
    readonly o: LoadOptions,
    public serverPid: number,
    nClients = o.pairs * 2,
  ) {
    for (let i = 0; i < nClients; i++) {
      this.clients.push({
        idx: i,
        peer: null as unknown as Client,
        ws: null,
        dead: false,
        closing: false,
        token: '',
        userId: 0,
        roomId: 0,
        head: '',
        sent: 0,
        inflight: 0,
        oldest: 0,
        nextDue: 0,
        sendT: new Float64Array(INITIAL_CAP),
        left: new Uint8Array(INITIAL_CAP),
        acked: new Uint8Array(INITIAL_CAP),
        recv: new Uint8Array(INITIAL_CAP),
      });
    }
    for (let i = 0; i + 1 < nClients; i += 2) {
      this.clients[i].peer = this.clients[i + 1];
      this.clients[i + 1].peer = this.clients[i];
    }
    // message text: "tag:idx:seq:" + padding up to --size characters (tag ~6, ids ~10)
    this.#pad = 'x'.repeat(Math.max(0, o.size - 20));
    this.#phase = new Phase(0);
  }

  error(kind: string, detail: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    if (this.errorSamples.length < 5) this.errorSamples.push(`${kind}: ${detail.slice(0, 300)}`);
  }

  // ------------------------------------------------------------------ setup
  /** Parley: one account per client, one direct room per pair (through the REST API). */
  async prepare(): Promise<void> {
    if (this.kind === 'floor') {
      for (const c of this.clients) this.#setHead(c, 0, c.peer.idx);
      return;
    }
    const base = this.url.replace(/\/$/, '');
    const run = Math.random().toString(36).slice(2, 8);
    const api = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`POST ${path} -> ${res.status} ${text.slice(0, 200)}`);
      return JSON.parse(text);
    };
    await pool(this.clients, this.o.setupConcurrency, async (c) => {
      const reg = await api('/api/auth/register', { email: `b${run}-${c.idx}@bench.example`, password: 'bench-password-1', name: `Bench ${c.idx}` });
      c.token = reg.access_token;
      c.userId = reg.user.id;
    });
    const owners = this.clients.filter((c) => c.idx % 2 === 0);
    await pool(owners, this.o.setupConcurrency, async (c) => {
      const room = await api('/api/chat/rooms', { receiver_id: c.peer.userId }, c.token);
      c.roomId = c.peer.roomId = room.id;
    });
    for (const c of this.clients) this.#setHead(c, c.roomId, c.peer.userId);
  }

  #setHead(c: Client, roomId: number, receiverId: number) {
    c.head = `{"type":"send_message","data":{"room_id":${roomId},"receiver_id":${receiverId},"message_type":"text","content":"`;
  }

  /** Opens every client's socket; resolves with the time it took (s). */
  async connect(): Promise<{ seconds: number; failed: number }> {
    const t0 = performance.now();
    let failed = 0;
    await pool(this.clients, this.o.connectConcurrency, async (c) => {
      try {
        await this.#open(c);
      } catch (e) {
        failed++;
        c.dead = true;
        this.error('connect', `client ${c.idx}: ${(e as Error).message}`);
      }
    });
    return { seconds: (performance.now() - t0) / 1000, failed };
  }

  #open(c: Client): Promise<void> {
    const url =
      this.kind === 'floor'
        ? `${this.url}/?user=${c.idx}&room=r${c.idx >> 1}`
        : `${this.url.replace(/^http/, 'ws')}/api/chat/ws?token=${encodeURIComponent(c.token)}&room_id=${c.roomId}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, WS_OPTS);
      let open = false;
      ws.on('open', () => {
        open = true;
        c.ws = ws;
        resolve();
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) this.#onFrame(c, Array.isArray(data) ? Buffer.concat(data) : data);
      });
      ws.on('error', (e) => {
        if (!open) reject(e);
        else this.error('ws-error', e.message);
      });
      ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
      ws.on('close', (code, reason) => {
        if (open && !c.closing) {
          c.dead = true;
          this.error('connection-lost', `client ${c.idx}: close ${code} ${reason.toString()}`);
        }
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) {
      c.closing = true;
      c.ws?.terminate();
    }
    await sleep(200);
  }

  // ------------------------------------------------------------------ the hot path
  #onFrame(c: Client, b: Buffer): void {
    const t = performance.now();
    const ph = this.#phase;
    if (!hasPrefix(b, P_NEW) && !hasPrefix(b, P_SEND)) {
      if (hasPrefix(b, P_ERROR)) {
        ph.errorFrames++;
        let msg = b.toString();
        try {
          msg = JSON.parse(msg).message ?? msg;
        } catch {
          /* keep raw */
        }
        this.error('error-frame', msg);
      } else ph.otherFrames++;
      return;
    }
    const k = b.indexOf(CONTENT_KEY, 20);
    if (k < 0) {
      ph.unexpected++;
      return;
    }
    // "tag:idx:seq:" right after the key, parsed from the bytes
    let p = k + CONTENT_KEY.length;
    const tb = ph.tagBytes;
    for (let i = 0; i < tb.length; i++, p++) {
      if (b[p] !== tb[i]) {
        ph.foreign++;
        return;
      }
    }
    const end = b.length;
    let idx = 0;
    for (; p < end && b[p] !== COLON; p++) idx = idx * 10 + (b[p] - 48);
    let seq = 0;
    for (p++; p < end && b[p] !== COLON; p++) seq = seq * 10 + (b[p] - 48);
    const s = p < end ? this.clients[idx] : undefined;
    if (s === c) {
      this.#ack(c, seq, t);
      return;
    }
    if (s !== c.peer || !(seq < s.sent)) {
      ph.unexpected++;
      return;
    }
    if (seq >= c.recv.length) c.recv = grow(c.recv, seq);
    const prev = c.recv[seq];
    if (prev < 255) c.recv[seq] = prev + 1;
    if (prev > 0) return; // duplicate, counted at the end
    ph.delivered++;
    const sentAt = s.sendT[seq];
    if (sentAt >= ph.mStart && sentAt < ph.mEnd) ph.lat.push(t - sentAt);
    if (t >= ph.mStart && t < ph.mEnd) ph.deliveredInWindow++;
    if (s.left[seq] === 1) {
      s.left[seq] = 0;
      this.#complete(s);
    }
  }

  #ack(c: Client, seq: number, t: number): void {
    const ph = this.#phase;
    if (!(seq < c.sent)) {
      ph.unexpected++;
      return;
    }
    if (c.acked[seq]) {
      ph.ackDuplicates++;
      return;
    }
    c.acked[seq] = 1;
    ph.acked++;
    const sentAt = c.sendT[seq];
    if (sentAt >= ph.mStart && sentAt < ph.mEnd) ph.ackLat.push(t - sentAt);
  }

  #sendOne(c: Client): void {
    const ph = this.#phase;
    const seq = c.sent;
    if (seq >= c.sendT.length) {
      c.sendT = grow(c.sendT, seq);
      c.left = grow(c.left, seq);
      c.acked = grow(c.acked, seq);
    }
    const t = performance.now();
    c.sendT[seq] = t;
    c.left[seq] = 1;
    c.sent = seq + 1;
    c.inflight++;
    if (t >= ph.mStart) ph.sentInWindow++;
    const id = `${ph.tag}:${c.idx}:${seq}`;
    try {
      c.ws!.send(`${c.head}${id}:${this.#pad}","local_temp_id":"${id}"}}`);
    } catch (e) {
      this.error('send', (e as Error).message);
    }
  }

  #complete(c: Client): void {
    c.inflight--;
    const ph = this.#phase;
    if (ph.closedLoop) while (ph.sending && !c.dead && c.inflight < this.o.window) this.#sendOne(c);
  }

  /** Frees window slots held by messages that never arrived (they end up counted lost). */
  #sweep(): void {
    const ph = this.#phase;
    const limit = performance.now() - this.o.msgTimeout * 1000;
    for (const c of this.clients) {
      let seq = c.oldest;
      while (seq < c.sent && c.left[seq] !== 1) seq++;
      c.oldest = seq;
      for (; seq < c.sent && c.sendT[seq] < limit; seq++) {
        if (c.left[seq] === 1) {
          c.left[seq] = 2;
          ph.timedOut++;
          this.#complete(c);
        }
      }
    }
  }

  #inflight(): number {
    let n = 0;
    for (const c of this.clients) n += c.inflight;
    return n;
  }

  // ------------------------------------------------------------------ one measured phase
  /** Sends for warmup + duration (closed loop with the window, or open loop at `rate`), drains,
   *  and accounts. Each phase starts its clients' sequences at 0 under a new tag. */
  async run(rate: number): Promise<PhaseResult> {
    const o = this.o;
    const ph = (this.#phase = new Phase(++this.#phases));
    this.errors = {};
    this.errorSamples = [];
    const senders = this.clients.filter((c) => !c.dead && c.peer);
    for (const c of this.clients) {
      c.sent = c.inflight = c.oldest = 0;
      c.sendT.fill(0);
      c.left.fill(0);
      c.acked.fill(0);
      c.recv.fill(0);
    }
    const t0 = performance.now() + 50;
    ph.mStart = t0 + o.warmup * 1000;
    ph.mEnd = ph.mStart + o.duration * 1000;
    const until = async (t: number) => {
      const ms = t - performance.now();
      if (ms > 0) await sleep(ms);
    };
    let cpu0 = process.cpuUsage();
    let srv0: number | null = null;
    let mono0 = 0;
    let mono1 = 0;
    let srvCpu: number | null = null;
    let loadCpu = 0;
    let machine0: number | null = null;
    let otherCpu: number | null = null;
    const cpuWindow = (async () => {
      await until(ph.mStart);
      cpu0 = process.cpuUsage();
      srv0 = cpuSeconds(this.serverPid);
      machine0 = machineBusySeconds();
      mono0 = Number(process.hrtime.bigint() / 1000n);
      await until(ph.mEnd);
      mono1 = Number(process.hrtime.bigint() / 1000n);
      const d = process.cpuUsage(cpu0);
      loadCpu = (d.user + d.system) / 1e6;
      const srv1 = cpuSeconds(this.serverPid);
      srvCpu = srv0 !== null && srv1 !== null ? srv1 - srv0 : null;
      const machine1 = machineBusySeconds();
      if (machine0 !== null && machine1 !== null && srvCpu !== null) otherCpu = Math.max(0, machine1 - machine0 - srvCpu - loadCpu);
    })();

    await until(t0);
    ph.sending = true;
    ph.closedLoop = !(rate > 0);
    let ticker: NodeJS.Timeout | null = null;
    if (ph.closedLoop) {
      for (const c of senders) while (ph.sending && !c.dead && c.inflight < o.window) this.#sendOne(c);
    } else {
      const interval = 1000 / rate;
      for (const c of senders) c.nextDue = t0 + Math.random() * interval;
      const tick = () => {
        const now = performance.now();
        for (const c of senders) {
          while (ph.sending && !c.dead && c.nextDue <= now) {
            this.#sendOne(c);
            c.nextDue += interval;
          }
        }
        if (ph.sending) ticker = setTimeout(tick, 1);
      };
      tick();
    }
    const sweeper = setInterval(() => this.#sweep(), 200);
    await until(ph.mEnd);
    ph.sending = false;
    if (ticker) clearTimeout(ticker);
    const rssEnd = rssKb(this.serverPid);
    const drainEnd = performance.now() + o.drain * 1000;
    while (this.#inflight() > 0 && performance.now() < drainEnd) await sleep(20);
    clearInterval(sweeper);
    await cpuWindow;

    // lost / duplicated: every message each client sent, checked at its partner
    let sent = 0;
    let lost = 0;
    let duplicated = 0;
    for (const s of senders) {
      sent += s.sent;
      const r = s.peer;
      for (let seq = 0; seq < s.sent; seq++) {
        const v = seq < r.recv.length ? r.recv[seq] : 0;
        if (v === 0) lost++;
        else if (v > 1) duplicated += v - 1;
      }
    }
    return {
      mode: ph.closedLoop ? `closed W=${o.window}` : `open ${fmtRate(rate)}/s/client`,
      senders: senders.length,
      sent,
      sentInWindow: ph.sentInWindow,
      delivered: ph.delivered,
      deliveredInWindow: ph.deliveredInWindow,
      msgPerSec: ph.deliveredInWindow / o.duration,
      perClientPerSec: ph.deliveredInWindow / o.duration / Math.max(1, senders.length),
      offeredPerSec: ph.closedLoop ? null : rate * senders.length,
      lat: ph.lat.view(),
      ackLat: ph.ackLat.view(),
      acked: ph.acked,
      lost,
      duplicated,
      ackDuplicates: ph.ackDuplicates,
      timedOut: ph.timedOut,
      foreign: ph.foreign,
      unexpected: ph.unexpected,
      otherFrames: ph.otherFrames,
      errorFrames: ph.errorFrames,
      errors: this.errors,
      errorSamples: this.errorSamples,
      serverCpuCores: srvCpu === null ? null : srvCpu / o.duration,
      loadCpuCores: loadCpu / o.duration,
      otherCpuCores: otherCpu === null ? null : otherCpu / o.duration,
      serverRssEndKb: rssEnd,
      windowMonoUs: [mono0, mono1],
    };
  }
}

function fmtRate(r: number): string {
  return Number.isInteger(r) ? String(r) : r.toFixed(1);
}
