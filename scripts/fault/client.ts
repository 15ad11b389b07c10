import WebSocket from 'ws';

// One chat client socket of a fault run: a user following one room on /api/chat/ws, sending
// at a paced rate, resuming with the highest seq it saw after every disconnect and re-sending
// whatever is not acknowledged with the same local_temp_id. It records everything it sees;
// the reconciliation (reconcile.ts) judges it. It never repairs what the server does wrong:
// a gap stays a gap, a second copy is counted, not dropped.

/** A message this client sent (each retry reuses `tempId`). */
export interface Sent {
  tempId: string;
  /** The message text; equal to tempId, so a stored copy is recognisable in REST history. */
  content: string;
  session: number;
  roomId: number;
  senderId: number;
  firstSentAt: number;
  /** Times sent (1 + retries). */
  attempts: number;
  /** The process each attempt went to. */
  sentProcs: number[];
  ackedAt: number | null;
  seq: number | null;
  /** How the ack came: live (after the resume), in the resume replay, or through REST after snapshot_required. */
  ackVia: 'live' | 'replay' | 'rest' | null;
  /** The process of the socket the ack arrived on. */
  ackProc: number | null;
  /** Error frames that named this message: code per attempt. */
  errors: string[];
  /** The message id from the ack (what an edit names). */
  id: number | null;
  /** Edits of it acknowledged by the server (REST 200). */
  edits: number;
}

/** An edit's text: the message's local_temp_id, so the stored row is still recognisable, and the edit's number. */
export const editedContent = (tempId: string, n: number) => `${tempId}${EDIT_MARK}${n}`;
const EDIT_MARK = '~edit';
/** The local_temp_id a (possibly edited) content belongs to. */
export const baseContent = (content: string) => {
  const i = content.indexOf(EDIT_MARK);
  return i < 0 ? content : content.slice(0, i);
};

/** The newest state of one message a socket was shown: new_message, message_update, or REST after snapshot_required. */
export interface Seen {
  content: string | null;
  changeSeq: number;
}

/** A new_message frame received by a socket (or a message seen in REST after snapshot_required). */
export interface Receipt {
  seq: number;
  at: number;
  /** Connection number within the session (1-based). */
  conn: number;
  proc: number;
  /** replay: before the connection's first pong (the resume), live: after it. */
  phase: 'replay' | 'live' | 'rest';
  senderId: number;
  content: string | null;
  tempId: string | null;
}

export interface ConnRecord {
  n: number;
  proc: number;
  /** The last_seq the connection resumed from. */
  resumeFrom: number;
  startedAt: number;
  openedAt: number | null;
  /** First pong: the resume replay has been sent. */
  readyAt: number | null;
  closedAt: number | null;
  closeCode: number | null;
  closeReason: string;
  error: string | null;
}

export interface DupDelivery {
  seq: number;
  first: Receipt;
  again: Receipt;
  /** The copy answered a retry of this client's own message (delivery contract 3 vs 2). */
  retryEcho: boolean;
}

export interface OrderViolation {
  /** The seq that arrived late. */
  seq: number;
  /** The highest seq the socket had received before it. */
  after: number;
  receipt: Receipt;
}

export interface SessionDeps {
  ports: readonly number[];
  now: () => number;
  rng: () => number;
  /** REST history of a room (all pages), for snapshot_required; from process `proc`. */
  history: (proc: number, token: string, roomId: number) => Promise<{ seq: number; content: string | null; sender_id: number; change_seq: number }[]>;
  /** Edits one of the user's messages over REST on process `proc`; resolves to whether the server stored it. */
  edit: (proc: number, token: string, messageId: number, content: string) => Promise<boolean>;
  log: (line: string) => void;
  runTag: string;
  /** 'seq': resume with last_seq only; 'change': with last_seq and last_change_seq (docs/delivery.md 4). */
  resume: 'seq' | 'change';
}

export interface User {
  index: number;
  id: number;
  token: string;
  name: string;
}

const RESUME_TIMEOUT_MS = 15_000;
/** Most unacknowledged messages a client lets pile up before it stops adding new ones. */
const MAX_IN_FLIGHT = 500;

export class Session {
  state: 'idle' | 'connecting' | 'resuming' | 'ready' | 'down' | 'closed' = 'idle';
  proc: number;
  readonly conns: ConnRecord[] = [];
  readonly sent = new Map<string, Sent>();
  readonly unacked = new Map<string, Sent>();
  /** First receipt of each seq. */
  readonly received = new Map<number, Receipt>();
  readonly receipts: Receipt[] = [];
  readonly dups: DupDelivery[] = [];
  readonly orderViolations: OrderViolation[] = [];
  readonly foreign: Receipt[] = [];
  readonly ackMismatches: { tempId: string; firstSeq: number; again: Receipt }[] = [];
  readonly errorCodes = new Map<string, number>();
  readonly snapshots: { at: number; missed: number; conn: number }[] = [];
  maxSeq = 0;
  /** The highest change_seq on any message frame this socket received. */
  maxChangeSeq = 0;
  /** Per seq, the newest state shown (by change_seq): after the run it must equal the history. */
  readonly latest = new Map<number, Seen>();
  /** Edits sent / acknowledged, and voluntary reconnects (the resume-under-load phase). */
  editsSent = 0;
  editsAcked = 0;
  bounces = 0;
  /** Counters. */
  deliveredLive = 0;
  replayed = 0;
  throttled = 0;

  #ws: WebSocket | null = null;
  #sending = false;
  #timer: NodeJS.Timeout | null = null;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #failures = 0;
  #counter = 0;
  #editTimer: NodeJS.Timeout | null = null;
  #editing = false;

  constructor(
    readonly id: number,
    readonly user: User,
    readonly roomId: number,
    startProc: number,
    readonly ratePerSecond: number,
    readonly deps: SessionDeps,
  ) {
    this.proc = startProc;
  }

  get connected(): boolean {
    return this.state === 'ready';
  }

  /** Opens the socket (sending starts with `startSending`). */
  connect(): void {
    if (this.state === 'closed') return;
    const { now } = this.deps;
    const proc = this.proc;
    const conn: ConnRecord = {
      n: this.conns.length + 1,
      proc,
      resumeFrom: this.maxSeq,
      startedAt: now(),
      openedAt: null,
      readyAt: null,
      closedAt: null,
      closeCode: null,
      closeReason: '',
      error: null,
    };
    this.conns.push(conn);
    this.state = 'connecting';
    let q = `token=${encodeURIComponent(this.user.token)}&room_id=${this.roomId}&last_seq=${this.maxSeq}`;
    if (this.deps.resume === 'change') q += `&last_change_seq=${this.maxChangeSeq}`;
    const ws = new WebSocket(`ws://127.0.0.1:${this.deps.ports[proc]}/api/chat/ws?${q}`, { handshakeTimeout: 5_000 });
    this.#ws = ws;
    let resumeTimer: NodeJS.Timeout | null = null;
    ws.on('open', () => {
      conn.openedAt = now();
      this.state = 'resuming';
      // Frames are handled in order after the room join and its replay: the pong means the resume is complete.
      ws.send('{"type":"ping"}');
      resumeTimer = setTimeout(() => {
        conn.error = `no pong within ${RESUME_TIMEOUT_MS} ms`;
        ws.terminate();
      }, RESUME_TIMEOUT_MS);
    });
    ws.on('message', (data) => {
      if (this.#ws !== ws) return;
      let f: { type?: string; data?: any; [k: string]: any };
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      if (f.type === 'pong' && conn.readyAt === null) {
        if (resumeTimer) clearTimeout(resumeTimer);
        conn.readyAt = now();
        this.state = 'ready';
        this.#failures = 0;
        // Whatever the resume did not acknowledge goes again, same local_temp_id, oldest first.
        for (const s of [...this.unacked.values()]) this.#transmit(s);
        return;
      }
      this.#frame(conn, f);
    });
    ws.on('error', (e) => {
      conn.error ??= e.message;
    });
    ws.on('close', (code, reason) => {
      if (resumeTimer) clearTimeout(resumeTimer);
      conn.closedAt = now();
      conn.closeCode = code;
      conn.closeReason = reason.toString();
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.state === 'closed') return;
      this.state = 'down';
      // The next process, after a backoff that grows while connections keep failing.
      this.#failures++;
      this.proc = (this.proc + 1) % this.deps.ports.length;
      const base = Math.min(2_000, 50 * 2 ** Math.min(this.#failures, 6));
      const delay = Math.round(base * (0.5 + this.deps.rng() / 2));
      this.#reconnectTimer = setTimeout(() => {
        this.#reconnectTimer = null;
        this.connect();
      }, delay);
    });
  }

  startSending(): void {
    if (this.#sending || this.ratePerSecond <= 0) return;
    this.#sending = true;
    const period = 1000 / this.ratePerSecond;
    // A seeded phase, so the clients do not all send in the same millisecond.
    const phase = this.deps.rng() * period;
    this.#timer = setTimeout(() => {
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), period);
    }, phase);
  }

  stopSending(): void {
    this.#sending = false;
    if (this.#timer) {
      clearTimeout(this.#timer);
      clearInterval(this.#timer);
    }
    this.#timer = null;
  }

  /**
   * Edits one of its acknowledged messages now and then (`perSecond`), over REST on the
   * process its socket is on: the resume-under-load phase, where other sockets of the room
   * come and go and must end with every edit.
   */
  startEditing(perSecond: number): void {
    if (this.#editing || perSecond <= 0) return;
    this.#editing = true;
    const period = 1000 / perSecond;
    const tick = () => {
      this.#editTimer = setTimeout(() => {
        if (!this.#editing) return;
        void this.#editOne().finally(tick);
      }, period * (0.5 + this.deps.rng()));
    };
    tick();
  }

  stopEditing(): void {
    this.#editing = false;
    if (this.#editTimer) clearTimeout(this.#editTimer);
    this.#editTimer = null;
  }

  async #editOne(): Promise<void> {
    const mine = [...this.sent.values()].filter((m) => m.id !== null);
    if (mine.length === 0 || this.state === 'closed') return;
    const m = mine[Math.floor(this.deps.rng() * mine.length)];
    this.editsSent++;
    try {
      if (await this.deps.edit(this.proc, this.user.token, m.id!, editedContent(m.tempId, m.edits + 1))) {
        m.edits++;
        this.editsAcked++;
      }
    } catch {
      // The process is down: an edit is not retried; whether it was stored, the history says.
    }
  }

  /** Drops a ready socket on purpose; it reconnects to the next process and resumes from its cursor. */
  bounce(): boolean {
    const ws = this.#ws;
    if (!ws || this.state !== 'ready') return false;
    this.bounces++;
    ws.close(1000, 'resume under load');
    return true;
  }

  /** Ready on a socket, nothing unacknowledged, and has seen `top` of its room. */
  caughtUp(top: number): boolean {
    return this.state === 'ready' && this.unacked.size === 0 && this.maxSeq >= top;
  }

  close(): void {
    this.stopSending();
    this.stopEditing();
    this.state = 'closed';
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const ws = this.#ws;
    this.#ws = null;
    ws?.terminate();
  }

  #tick(): void {
    if (!this.#sending || this.state !== 'ready') return;
    if (this.unacked.size >= MAX_IN_FLIGHT) {
      this.throttled++;
      return;
    }
    const n = ++this.#counter;
    const tempId = `${this.deps.runTag}-s${this.id}-${n}`;
    const s: Sent = {
      tempId,
      content: tempId,
      session: this.id,
      roomId: this.roomId,
      senderId: this.user.id,
      firstSentAt: this.deps.now(),
      attempts: 0,
      sentProcs: [],
      ackedAt: null,
      seq: null,
      ackVia: null,
      ackProc: null,
      errors: [],
      id: null,
      edits: 0,
    };
    this.sent.set(tempId, s);
    this.unacked.set(tempId, s);
    this.#transmit(s);
  }

  #transmit(s: Sent): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state !== 'ready') return;
    s.attempts++;
    s.sentProcs.push(this.proc);
    ws.send(JSON.stringify({ type: 'send_message', data: { room_id: this.roomId, content: s.content, local_temp_id: s.tempId } }));
  }

  #frame(conn: ConnRecord, f: { type?: string; data?: any; [k: string]: any }): void {
    const cs = f.data?.change_seq;
    if (typeof cs === 'number' && Number(f.data.room_id) === this.roomId && cs > this.maxChangeSeq) this.maxChangeSeq = cs;
    switch (f.type) {
      case 'new_message':
        return this.#message(conn, f.data ?? {});
      case 'message_update': {
        const d = f.data ?? {};
        if (Number(d.room_id) === this.roomId) this.#see(Number(d.seq), d.content ?? null, Number(d.change_seq));
        return;
      }
      case 'error': {
        const code = String(f.code ?? f.message ?? 'error');
        this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
        const t = f.local_temp_id;
        const s = t !== undefined ? this.unacked.get(String(t)) : undefined;
        if (s) {
          s.errors.push(code);
          // Not stored: send it again shortly, same local_temp_id.
          const ws = this.#ws;
          setTimeout(() => {
            if (this.#ws === ws && this.unacked.has(s.tempId)) this.#transmit(s);
          }, 250);
        }
        return;
      }
      case 'snapshot_required':
        this.snapshots.push({ at: this.deps.now(), missed: Number(f.data?.missed ?? 0), conn: conn.n });
        void this.#snapshot(conn);
        return;
      default:
        return;
    }
  }

  #message(conn: ConnRecord, d: any): void {
    const r: Receipt = {
      seq: Number(d.seq),
      at: this.deps.now(),
      conn: conn.n,
      proc: conn.proc,
      phase: conn.readyAt === null ? 'replay' : 'live',
      senderId: Number(d.sender_id),
      content: d.content ?? null,
      tempId: d.local_temp_id == null ? null : String(d.local_temp_id),
    };
    if (Number(d.room_id) !== this.roomId) {
      this.foreign.push(r);
      return;
    }
    this.#see(r.seq, r.content, Number(d.change_seq));
    if (r.senderId === this.user.id && r.tempId !== null) {
      const mine = this.sent.get(r.tempId);
      if (mine && mine.id === null) mine.id = Number(d.id);
    }
    this.#record(r);
  }

  #see(seq: number, content: string | null, changeSeq: number): void {
    const had = this.latest.get(seq);
    if (!had || changeSeq >= had.changeSeq) this.latest.set(seq, { content, changeSeq });
  }

  #record(r: Receipt): void {
    this.receipts.push(r);
    const mine = r.senderId === this.user.id && r.tempId !== null ? this.sent.get(r.tempId) : undefined;
    const first = this.received.get(r.seq);
    if (first) {
      if (r.phase !== 'rest') this.dups.push({ seq: r.seq, first, again: r, retryEcho: mine !== undefined && mine.attempts > 1 });
    } else {
      if (r.seq < this.maxSeq && r.phase !== 'rest') this.orderViolations.push({ seq: r.seq, after: this.maxSeq, receipt: r });
      this.received.set(r.seq, r);
      if (r.seq > this.maxSeq) this.maxSeq = r.seq;
      if (r.senderId !== this.user.id) {
        if (r.phase === 'live') this.deliveredLive++;
        else if (r.phase === 'replay') this.replayed++;
      }
    }
    if (mine) {
      if (mine.seq === null) {
        mine.seq = r.seq;
        mine.ackedAt = r.at;
        mine.ackVia = r.phase;
        mine.ackProc = r.proc;
        this.unacked.delete(mine.tempId);
      } else if (mine.seq !== r.seq) {
        this.ackMismatches.push({ tempId: mine.tempId, firstSeq: mine.seq, again: r });
      }
    }
  }

  /** snapshot_required: the history comes over REST; what it holds counts as seen. */
  async #snapshot(conn: ConnRecord): Promise<void> {
    try {
      const list = await this.deps.history(conn.proc, this.user.token, this.roomId);
      for (const m of list) {
        const content = m.content ?? null;
        this.#see(m.seq, content, m.change_seq);
        const tempId = content === null ? null : baseContent(content);
        const mine = m.sender_id === this.user.id && tempId !== null && this.sent.has(tempId);
        this.#record({
          seq: m.seq,
          at: this.deps.now(),
          conn: conn.n,
          proc: conn.proc,
          phase: 'rest',
          senderId: m.sender_id,
          content,
          tempId: mine ? tempId : null,
        });
      }
    } catch (e) {
      this.deps.log(`session ${this.id}: REST history after snapshot_required failed: ${(e as Error).message}`);
    }
  }
}
