// The load generator of `npm run bench`: groups of simulated clients in this one process, each
// member sending to its group, against Parley or the floor relay. A pair is a group of 2
// (document 001's /api/chat, one direct room per pair); a larger group is a 003 group
// conversation (/api/notifications/chat, socket /ws/chat/{tenant}/). With several Parley
// processes, the members of a group are spread over them so that the two members of a pair
// are never on the same process.
//
// Cost per message on this side is kept small because the load generator shares the two
// cores with the server: the send frame is one template string, received frames are never
// JSON-parsed (the type is checked on the raw bytes, the message id `tag:idx:seq:` is read
// straight out of the Buffer after `"content":"`), timestamps are doubles from
// performance.now() (one monotonic clock for send and receive), and all per-message state
// lives in typed arrays indexed by seq.
import WebSocket from 'ws';
import { Samples } from './stats.js';
import { cpuSecondsOf, machineBusySeconds, mainThreadCpuSecondsOf, rssKbOf, sleep, syscallsOf } from './proc.js';
import type { AuxCpuResult, AuxSampler } from './aux-cpu.js';
import type { CommitSampler, CommitStats } from './commits.js';

export type Kind = 'parley' | 'floor';
/** How Parley is spoken to: document 001's /api/chat (pairs) or document 003's groups. */
export type Dialect = 'chat' | 'notifications';

export interface Client {
  idx: number;
  group: number;
  /** Position in its group (0 = the group's creator). */
  pos: number;
  /** Every member of its group, itself included, by pos. */
  members: Client[];
  /** Which server process this client connects to (index into the Load's urls). */
  proc: number;
  ws: WebSocket | null;
  dead: boolean;
  closing: boolean;
  // Parley accounts
  token: string;
  userId: number;
  userUuid: string;
  tenant: string;
  roomId: number; // /api/chat direct room
  convUuid: string; // 003 group conversation
  // fixed parts of the send frame
  head: string; // {"type":"send_message",…,"content":"
  // per phase
  sent: number;
  inflight: number;
  oldest: number;
  nextDue: number;
  sendT: Float64Array; // send time (ms) per own seq
  left: Uint8Array; // per own seq: 1 = not yet delivered to every other member, 0 = delivered, 2 = timed out
  acked: Uint8Array; // own copy (Parley's ack) seen, per own seq
  got: Uint16Array; // per own seq: how many other members received it (first receipts only)
  recv: Uint8Array[]; // by sender pos: how many times each of that member's seqs arrived here
  /** During connect: sees every frame that is not a message (the readiness barrier). */
  waiter: ((b: Buffer) => void) | null;
}

export interface LoadOptions {
  /** Members per group (2 = pairs). */
  groupSize: number;
  groups: number;
  dialect: Dialect;
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
  /** What-if: every member of group g on process g mod N (else spread, see Load). */
  colocate?: boolean;
}

export interface PhaseResult {
  mode: string; // "closed W=1" | "open R=…/s"
  senders: number;
  /** Receipts per message: members per group − 1. */
  fanout: number;
  sent: number;
  sentInWindow: number;
  /** Messages sent inside the window ÷ duration. */
  sentPerSec: number;
  delivered: number;
  deliveredInWindow: number;
  msgPerSec: number; // deliveries inside the window ÷ duration
  perClientPerSec: number; // deliveries per sending client
  perClientSentPerSec: number; // messages sent per client
  offeredPerSec: number | null; // open loop: rate × senders (messages)
  lat: Float64Array; // send→receive, ms, one sample per delivery
  ackLat: Float64Array; // send→own copy (Parley), ms
  acked: number;
  lateAcks: number; // acks that arrived after every delivery had (the drain once waited only for deliveries)
  /** Deliveries that should have happened: every message × fanout. */
  expected: number;
  lost: number; // deliveries
  duplicated: number;
  ackDuplicates: number;
  timedOut: number;
  foreign: number; // frames of an earlier phase or with an unknown id
  unexpected: number;
  otherFrames: number; // frames that are neither messages nor errors (presence, …)
  errorFrames: number;
  errors: Record<string, number>;
  errorSamples: string[];
  serverCpuCores: number | null; // all server processes together
  /** Their main threads (event loops) alone: near 1 each, the event loop is the limit. */
  serverMainThreadCores: number | null;
  serverSyscalls: { reads: number; writes: number } | null; // read/write system calls of all server processes over the window
  /** PostgreSQL backends of the target's database, and the Redis server (null: not used). */
  pgCpuCores: number | null;
  redisCpuCores: number | null;
  /** PUBLISH commands Redis served per second over the window (null: no Redis). */
  redisPublishesPerSec: number | null;
  loadCpuCores: number;
  /** CPU used by everything else on the machine during the window (noise). */
  otherCpuCores: number | null;
  serverRssEndKb: number | null; // all server processes together
  /** The group commits over the window (Parley only: null for the floor, or if /metrics could not be read). */
  commits: CommitStats | null;
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
const P_NEW = Buffer.from('{"type":"new_message"'); // Parley's delivery, both dialects (and the sender's own copy = ack)
const P_SEND = Buffer.from('{"type":"send_message"'); // the floor relays our own frame as is
const P_ERROR = Buffer.from('{"type":"error"');
const P_PONG = Buffer.from('{"type":"pong"');
const P_JOINED = Buffer.from('{"type":"conversation_joined"');
const COLON = 0x3a;
/** The floor's stand-in for a 003 conversation id (the floor never reads it). */
const FLOOR_CONV = '00000000-0000-4000-8000-000000000000';

function hasPrefix(b: Buffer, p: Buffer): boolean {
  if (b.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
  return true;
}

function grow<T extends Float64Array | Uint8Array | Uint16Array>(a: T, need: number): T {
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
  /** CPU of PostgreSQL / Redis over the window, when the target uses them. */
  aux: AuxSampler | null = null;
  /** Parley's group commits over the window, read off /metrics (null: not a Parley target). */
  commits: CommitSampler | null = null;
  #phase: Phase;
  #phases = 0;
  readonly #pad: string;
  readonly #fanout: number;
  /** Closes the frame: /api/chat wraps the fields in `data`, 003 frames are flat. */
  readonly #tail: string;

  /**
   * `urls`: one per server process (floor: ws://127.0.0.1:P, Parley: http://127.0.0.1:P).
   * Client `pos` of group `g` connects to process (g + pos) mod N, so with N ≥ 2 the two
   * members of a pair are always on different processes; with `colocate`, to g mod N.
   */
  constructor(
    readonly kind: Kind,
    readonly urls: string[],
    readonly o: LoadOptions,
    public serverPids: number[],
  ) {
    const m = o.groupSize;
    if (m < 2) throw new Error('a group has at least 2 members');
    if (o.dialect === 'chat' && m !== 2) throw new Error('/api/chat rooms are direct (2 members): groups use the 003 dialect');
    this.#fanout = m - 1;
    this.#tail = o.dialect === 'chat' ? '"}}' : '"}';
    const recvCap = m > 2 ? 256 : 1024;
    for (let g = 0; g < o.groups; g++) {
      const members: Client[] = [];
      for (let pos = 0; pos < m; pos++) {
        const c: Client = {
          idx: this.clients.length,
          group: g,
          pos,
          members,
          proc: (o.colocate ? g : g + pos) % urls.length,
          ws: null,
          dead: false,
          closing: false,
          token: '',
          userId: 0,
          userUuid: '',
          tenant: '',
          roomId: 0,
          convUuid: '',
          head: '',
          sent: 0,
          inflight: 0,
          oldest: 0,
          nextDue: 0,
          sendT: new Float64Array(1024),
          left: new Uint8Array(1024),
          acked: new Uint8Array(1024),
          got: new Uint16Array(1024),
          recv: Array.from({ length: m }, () => new Uint8Array(recvCap)),
          waiter: null,
        };
        members.push(c);
        this.clients.push(c);
      }
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
  /**
   * Parley: one account per client, then per group either one direct room (/api/chat, pairs)
   * or one 003 group conversation created by member 0 with every other member in it.
   * Registrations are spread over the processes (argon2 is the slow part).
   */
  async prepare(): Promise<void> {
    if (this.kind === 'floor') {
      for (const c of this.clients) this.#setHead(c);
      return;
    }
    const run = Math.random().toString(36).slice(2, 8);
    const api = async (c: Client, path: string, body: unknown, token?: string) => {
      const res = await fetch(this.urls[c.proc].replace(/\/$/, '') + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`POST ${path} -> ${res.status} ${text.slice(0, 200)}`);
      return JSON.parse(text);
    };
    await pool(this.clients, this.o.setupConcurrency, async (c) => {
      const reg = await api(c, '/api/auth/register', { email: `b${run}-${c.idx}@bench.example`, password: 'bench-password-1', name: `Bench ${c.idx}` });
      c.token = reg.access_token;
      c.userId = reg.user.id;
      c.userUuid = reg.user.uuid;
      c.tenant = reg.user.tenant_id;
    });
    const owners = this.clients.filter((c) => c.pos === 0);
    await pool(owners, this.o.setupConcurrency, async (c) => {
      if (this.o.dialect === 'chat') {
        const room = await api(c, '/api/chat/rooms', { receiver_id: c.members[1].userId }, c.token);
        for (const m of c.members) m.roomId = room.id;
      } else {
        const conv = await api(
          c,
          '/api/notifications/chat/conversations/',
          { conversation_type: 'group', title: `bench group ${c.group}`, participant_ids: c.members.slice(1).map((m) => m.userUuid) },
          c.token,
        );
        if (conv.participant_count !== c.members.length) throw new Error(`group ${c.group}: ${conv.participant_count} participants, expected ${c.members.length}`);
        for (const m of c.members) m.convUuid = conv.id;
      }
    });
    for (const c of this.clients) this.#setHead(c);
  }

  /** The frame is the same for both servers: Parley handles it, the floor relays it as is. */
  #setHead(c: Client) {
    if (this.o.dialect === 'chat') {
      const receiver = c.members[1 - c.pos];
      const [roomId, receiverId] = this.kind === 'floor' ? [0, receiver.idx] : [c.roomId, receiver.userId];
      c.head = `{"type":"send_message","data":{"room_id":${roomId},"receiver_id":${receiverId},"message_type":"text","content":"`;
    } else {
      c.head = `{"type":"send_message","conversation_id":"${this.kind === 'floor' ? FLOOR_CONV : c.convUuid}","message_type":"text","content":"`;
    }
  }

  /** Opens every client's socket and waits until each is ready; resolves with the time it took (s). */
  async connect(): Promise<{ seconds: number; failed: number }> {
    const t0 = performance.now();
    let failed = 0;
    await pool(this.clients, this.o.connectConcurrency, async (c) => {
      try {
        await this.#open(c);
      } catch (e) {
        failed++;
        c.dead = true;
        c.ws?.terminate();
        this.error('connect', `client ${c.idx}: ${(e as Error).message}`);
      }
    });
    return { seconds: (performance.now() - t0) / 1000, failed };
  }

  #url(c: Client): string {
    const base = this.urls[c.proc];
    if (this.kind === 'floor') return `${base}/?user=${c.idx}&room=g${c.group}`;
    const ws = base.replace(/^http/, 'ws');
    if (this.o.dialect === 'chat') return `${ws}/api/chat/ws?token=${encodeURIComponent(c.token)}&room_id=${c.roomId}`;
    return `${ws}/ws/chat/${c.tenant}/?token=${encodeURIComponent(c.token)}`;
  }

  /**
   * Opens one socket. Parley authenticates (and, on /api/chat, joins the room of the URL)
   * after the upgrade and holds early frames until then, so a socket is ready only when a
   * reply to a first frame arrives: `pong` to a `ping` (/api/chat), `conversation_joined` to
   * `join_conversation` (003; sent once the process is subscribed to the conversation, in
   * Redis too). The floor is ready on open.
   */
  #open(c: Client): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.#url(c), WS_OPTS);
      let open = false;
      let timer: NodeJS.Timeout | null = null;
      const ready = (e?: Error) => {
        if (timer) clearTimeout(timer);
        c.waiter = null;
        if (e) reject(e);
        else resolve();
      };
      ws.on('open', () => {
        open = true;
        c.ws = ws;
        if (this.kind === 'floor') return ready();
        timer = setTimeout(() => ready(new Error('no reply to the readiness frame within 30 s')), 30_000);
        const [probe, want] =
          this.o.dialect === 'chat' ? ['{"type":"ping"}', P_PONG] : [JSON.stringify({ type: 'join_conversation', conversation_id: c.convUuid }), P_JOINED];
        c.waiter = (b) => {
          if (hasPrefix(b, want)) ready();
          else if (hasPrefix(b, P_ERROR)) ready(new Error(`error frame: ${b.toString().slice(0, 200)}`));
        };
        ws.send(probe);
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
        if (c.waiter) ready(new Error(`closed ${code} ${reason.toString()} before it was ready`));
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
      if (c.waiter) c.waiter(b);
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
    if (s === undefined || s.members !== c.members || !(seq < s.sent)) {
      ph.unexpected++;
      return;
    }
    let r = c.recv[s.pos];
    if (seq >= r.length) r = c.recv[s.pos] = grow(r, seq);
    const prev = r[seq];
    if (prev < 255) r[seq] = prev + 1;
    if (prev > 0) return; // duplicate, counted at the end
    ph.delivered++;
    const sentAt = s.sendT[seq];
    if (sentAt >= ph.mStart && sentAt < ph.mEnd) ph.lat.push(t - sentAt);
    if (t >= ph.mStart && t < ph.mEnd) ph.deliveredInWindow++;
    // the window slot is freed when every other member has the message
    if (++s.got[seq] === this.#fanout && s.left[seq] === 1) {
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
      c.got = grow(c.got, seq);
    }
    const t = performance.now();
    c.sendT[seq] = t;
    c.left[seq] = 1;
    c.sent = seq + 1;
    c.inflight++;
    if (t >= ph.mStart && t < ph.mEnd) ph.sentInWindow++;
    const id = `${ph.tag}:${c.idx}:${seq}`;
    try {
      c.ws!.send(`${c.head}${id}:${this.#pad}","local_temp_id":"${id}${this.#tail}`);
    } catch (e) {
      this.error('send', (e as Error).message);
    }
  }

  #complete(c: Client): void {
    c.inflight--;
    const ph = this.#phase;
    if (ph.closedLoop) while (ph.sending && !c.dead && c.inflight < this.o.window) this.#sendOne(c);
  }

  /** Frees window slots held by messages that never reached everyone (they end up counted lost). */
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

  #serverCpu(): number | null {
    return cpuSecondsOf(this.serverPids);
  }

  // ------------------------------------------------------------------ one measured phase
  /** Sends for warmup + duration (closed loop with the window, or open loop at `rate`), drains,
   *  and accounts. Each phase starts its clients' sequences at 0 under a new tag. */
  async run(rate: number): Promise<PhaseResult> {
    const o = this.o;
    const ph = (this.#phase = new Phase(++this.#phases));
    this.errors = {};
    this.errorSamples = [];
    const senders = this.clients.filter((c) => !c.dead);
    for (const c of this.clients) {
      c.sent = c.inflight = c.oldest = 0;
      c.sendT.fill(0);
      c.left.fill(0);
      c.acked.fill(0);
      c.got.fill(0);
      for (const r of c.recv) r.fill(0);
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
    let main0: number | null = null;
    let mainCpu: number | null = null;
    let sys0: { reads: number; writes: number } | null = null;
    let sysDelta: { reads: number; writes: number } | null = null;
    let loadCpu = 0;
    let machine0: number | null = null;
    let otherCpu: number | null = null;
    let auxCpu: AuxCpuResult = { pgCores: null, redisCores: null, redisPublishesPerSec: null };
    let commits: Promise<CommitStats | null> = Promise.resolve(null);
    const cpuWindow = (async () => {
      await until(ph.mStart);
      cpu0 = process.cpuUsage();
      srv0 = this.#serverCpu();
      main0 = mainThreadCpuSecondsOf(this.serverPids);
      sys0 = syscallsOf(this.serverPids);
      machine0 = machineBusySeconds();
      this.aux?.begin();
      this.commits?.begin();
      mono0 = Number(process.hrtime.bigint() / 1000n);
      await until(ph.mEnd);
      mono1 = Number(process.hrtime.bigint() / 1000n);
      if (this.commits) commits = this.commits.end(o.duration);
      const d = process.cpuUsage(cpu0);
      loadCpu = (d.user + d.system) / 1e6;
      const srv1 = this.#serverCpu();
      const main1 = mainThreadCpuSecondsOf(this.serverPids);
      mainCpu = main0 !== null && main1 !== null ? main1 - main0 : null;
      const sys1 = syscallsOf(this.serverPids);
      sysDelta = sys0 && sys1 ? { reads: sys1.reads - sys0.reads, writes: sys1.writes - sys0.writes } : null;
      srvCpu = srv0 !== null && srv1 !== null ? srv1 - srv0 : null;
      const machine1 = machineBusySeconds();
      if (this.aux) auxCpu = await this.aux.end(o.duration);
      const auxSeconds = ((auxCpu.pgCores ?? 0) + (auxCpu.redisCores ?? 0)) * o.duration;
      if (machine0 !== null && machine1 !== null && srvCpu !== null) otherCpu = Math.max(0, machine1 - machine0 - srvCpu - loadCpu - auxSeconds);
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
    const rssEnd = rssKbOf(this.serverPids);
    const drainEnd = performance.now() + o.drain * 1000;
    // Parley: also the acks. In the cluster a sender's own copy comes from its own process
    // (its Redis echo, in seq order) and the delivery from the other one: the last delivery
    // can arrive while acks are still on their way, which were then reported as never sent.
    const unacked = () => (this.kind === 'floor' ? 0 : senders.reduce((n, c) => n + c.sent, 0) - ph.acked);
    let ackedAtLastDelivery: number | null = null;
    while ((this.#inflight() > 0 || unacked() > 0) && performance.now() < drainEnd) {
      if (ackedAtLastDelivery === null && this.#inflight() === 0) ackedAtLastDelivery = ph.acked;
      await sleep(20);
    }
    if (ackedAtLastDelivery === null && this.#inflight() === 0) ackedAtLastDelivery = ph.acked;
    const lateAcks = ackedAtLastDelivery === null ? 0 : ph.acked - ackedAtLastDelivery;
    clearInterval(sweeper);
    await cpuWindow;

    // lost / duplicated: every message each client sent, checked at every other member
    let sent = 0;
    let lost = 0;
    let duplicated = 0;
    for (const s of senders) {
      sent += s.sent;
      for (const m of s.members) {
        if (m === s) continue;
        const r = m.recv[s.pos];
        for (let seq = 0; seq < s.sent; seq++) {
          const v = seq < r.length ? r[seq] : 0;
          if (v === 0) lost++;
          else if (v > 1) duplicated += v - 1;
        }
      }
    }
    const n = Math.max(1, senders.length);
    return {
      mode: ph.closedLoop ? `closed W=${o.window}` : `open ${fmtRate(rate)}/s/client`,
      senders: senders.length,
      fanout: this.#fanout,
      sent,
      sentInWindow: ph.sentInWindow,
      sentPerSec: ph.sentInWindow / o.duration,
      delivered: ph.delivered,
      deliveredInWindow: ph.deliveredInWindow,
      msgPerSec: ph.deliveredInWindow / o.duration,
      perClientPerSec: ph.deliveredInWindow / o.duration / n,
      perClientSentPerSec: ph.sentInWindow / o.duration / n,
      offeredPerSec: ph.closedLoop ? null : rate * senders.length,
      lat: ph.lat.view(),
      ackLat: ph.ackLat.view(),
      acked: ph.acked,
      lateAcks,
      expected: sent * this.#fanout,
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
      serverMainThreadCores: mainCpu === null ? null : mainCpu / o.duration,
      serverSyscalls: sysDelta,
      pgCpuCores: auxCpu.pgCores,
      redisCpuCores: auxCpu.redisCores,
      redisPublishesPerSec: auxCpu.redisPublishesPerSec,
      loadCpuCores: loadCpu / o.duration,
      otherCpuCores: otherCpu === null ? null : otherCpu / o.duration,
      serverRssEndKb: rssEnd,
      commits: await commits,
      windowMonoUs: [mono0, mono1],
    };
  }
}

function fmtRate(r: number): string {
  return Number.isInteger(r) ? String(r) : r.toFixed(1);
}
