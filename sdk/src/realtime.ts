import { ParleyError } from './errors.js';
import type { ClientFrame, ConnectionStatus, Cursor, ReadyFrame, ServerFrame, StatusEvent, SubscribedFrame } from './types.js';

/** The part of the WebSocket API the SDK uses: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ReconnectOptions {
  /** First retry after this (ms, before jitter). Default 500. */
  initialDelayMs?: number;
  /** Cap of the delay (ms). Default 30000. */
  maxDelayMs?: number;
  /** Each further attempt waits this many times longer. Default 2. */
  factor?: number;
  /** Fraction of each delay taken off at random (0: none, 1: anywhere in [0, delay]). Default 0.5. */
  jitter?: number;
}

export interface HeartbeatOptions {
  /** A ping goes out this often while connected (ms). Default 25000. */
  intervalMs?: number;
  /** Nothing heard for this long: the socket is taken for dead and replaced (ms). Default 60000. */
  timeoutMs?: number;
}

/** How long a subscribe may go without a frame in answer before the socket is replaced (ms). */
export const DEFAULT_SUBSCRIBE_TIMEOUT_MS = 20_000;

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.5 };

/** The wait before reconnect attempt `attempt` (1, 2, …): exponential, capped, minus jitter. */
export function backoffDelay(attempt: number, opts: ReconnectOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULT_RECONNECT, ...opts };
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * Math.pow(o.factor, Math.max(0, attempt - 1)));
  const jitter = Math.min(1, Math.max(0, o.jitter));
  return Math.round(base * (1 - jitter * random()));
}

/**
 * The wait a 1013 close (try again later: the server had too many resumes at once) asks for,
 * from its reason `… retry_after_ms=N`; null for any other close.
 */
export function retryHintOf(code: number, reason: string): number | null {
  if (code !== 1013) return null;
  const m = /retry_after_ms=(\d{1,7})/.exec(reason);
  return m ? Number(m[1]) : null;
}

/** Close codes after which reconnecting cannot help: the token or the user was refused. */
const FATAL_CLOSE_CODES = new Set([4000, 4001, 4003]);

export interface RealtimeHooks {
  /** The full socket URL (token included), asked before every attempt. */
  url(): Promise<string>;
  /** `ready` arrived; `subscribe` is sent right after this returns. */
  onReady(f: ReadyFrame): void;
  /** `subscribed` arrived (the cursors are merged already): the socket is live. */
  onOnline(f: SubscribedFrame): void;
  /** Every other server frame, after its cursor bookkeeping. */
  onFrame(f: ServerFrame): void;
  onStatus(e: StatusEvent): void;
  /** The server refused the token: no more attempts. */
  onFatal(e: ParleyError): void;
  /**
   * True while the platform says there is no network (the browser's navigator.onLine).
   * A retry due then waits the capped delay instead (retryNow() on `online` skips it):
   * no attempts while offline, and none that slip through an offline emulation.
   */
  networkDown?(): boolean;
}

type Phase = 'idle' | 'connecting' | 'subscribing' | 'online';

export interface Mark {
  seq: number;
  change: number;
}

/**
 * One socket to /api/parley/ws, kept up: `ready` → `subscribe` with a cursor per known
 * conversation → `subscribed`; on a drop, attempts again with exponential backoff and
 * jitter. Tracks the cursors: the highest seq and change_seq the socket delivered.
 */
export class Realtime {
  /** Per conversation: the newest seq and change_seq delivered (the resume cursor). */
  readonly cursors: Map<number, Mark>;
  status: ConnectionStatus = 'offline';
  readonly #hooks: RealtimeHooks;
  readonly #WebSocket: WebSocketConstructor;
  readonly #reconnect: Required<ReconnectOptions> | false;
  readonly #heartbeat: Required<HeartbeatOptions> | false;
  #ws: WebSocketLike | null = null;
  #phase: Phase = 'idle';
  #wanted = false;
  #attempt = 0;
  #gen = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #pingTimer: ReturnType<typeof setInterval> | null = null;
  /** The history's epoch the cursors were read in (from the server's ready and subscribed). */
  epoch: string | undefined = undefined;
  /** Fires when a subscribe has gone unanswered (no frame but pongs) for subscribeTimeoutMs. */
  #subscribeTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #subscribeTimeoutMs: number;
  #lastHeard = 0;
  /** Highest seq/change_seq seen while a subscribe's replay runs (applied at `subscribed`). */
  readonly #replayed = new Map<number, Mark>();
  /** The highest seq received per conversation not yet acknowledged (sent together in the next microtask). */
  readonly #unacked = new Map<number, number>();

  constructor(
    WebSocket: WebSocketConstructor,
    hooks: RealtimeHooks,
    opts: { reconnect?: ReconnectOptions | false; heartbeat?: HeartbeatOptions | false; cursors?: Map<number, Mark>; subscribeTimeoutMs?: number } = {},
  ) {
    this.#subscribeTimeoutMs = opts.subscribeTimeoutMs ?? DEFAULT_SUBSCRIBE_TIMEOUT_MS;
    this.cursors = opts.cursors ?? new Map();
    this.#WebSocket = WebSocket;
    this.#hooks = hooks;
    this.#reconnect = opts.reconnect === false ? false : { ...DEFAULT_RECONNECT, ...opts.reconnect };
    this.#heartbeat = opts.heartbeat === false ? false : { intervalMs: 25_000, timeoutMs: 60_000, ...opts.heartbeat };
  }

  /** Live: subscribed, frames can be sent. */
  get online(): boolean {
    return this.#phase === 'online';
  }

  /** Subscribing: the messages coming are the resume's replay (read now, not when they changed). */
  get replaying(): boolean {
    return this.#phase === 'subscribing';
  }

  /** A socket is up (subscribing or live): what it delivers is the stream the cursors follow. */
  get session(): boolean {
    return this.#phase === 'subscribing' || this.#phase === 'online';
  }

  get wanted(): boolean {
    return this.#wanted;
  }

  start(): void {
    if (this.#wanted) return;
    this.#wanted = true;
    this.#attempt = 0;
    void this.#open();
  }

  /** Closes for good (until start()). */
  stop(): void {
    if (!this.#wanted && this.#phase === 'idle') return;
    this.#wanted = false;
    this.#teardown(1000, 'client disconnect');
    this.#setStatus({ status: 'offline', final: true });
  }

  /** Skips the current backoff wait (e.g. the browser says it is online again). */
  retryNow(): void {
    if (!this.#wanted || this.#phase !== 'idle') return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    void this.#open();
  }

  /** Takes the socket for dead and reconnects (as after a drop). */
  drop(reason = 'dropped by the client'): void {
    if (this.#phase === 'idle') return;
    this.#teardown(1000, reason);
    if (this.#wanted) this.#retry(1006, reason);
  }

  /** Sends a frame if live; false when it could not be sent now. */
  send(frame: ClientFrame | { type: string; [k: string]: unknown }): boolean {
    if (this.#phase !== 'online' || !this.#ws) return false;
    try {
      this.#ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Starts a cursor where none is (from a REST load that covers everything up to it). */
  seedCursor(conversationId: number, seq: number, change: number): void {
    if (!this.cursors.has(conversationId)) this.cursors.set(conversationId, { seq, change });
  }

  dropCursor(conversationId: number): void {
    this.cursors.delete(conversationId);
    this.#replayed.delete(conversationId);
  }

  // ------------------------------------------------------------ internals

  async #open(): Promise<void> {
    const gen = ++this.#gen;
    this.#phase = 'connecting';
    this.#setStatus(this.#attempt ? { status: 'connecting', attempt: this.#attempt } : { status: 'connecting' });
    let ws: WebSocketLike;
    try {
      const url = await this.#hooks.url();
      if (gen !== this.#gen) return;
      ws = new this.#WebSocket(url);
    } catch (e) {
      if (gen !== this.#gen) return;
      this.#phase = 'idle';
      this.#retry(1006, `could not open the socket: ${(e as Error)?.message ?? e}`);
      return;
    }
    this.#ws = ws;
    this.#lastHeard = Date.now();
    ws.onopen = () => {
      if (gen === this.#gen) this.#lastHeard = Date.now();
    };
    ws.onmessage = (ev: { data: unknown }) => {
      if (gen === this.#gen) this.#onMessage(ev.data);
    };
    ws.onerror = () => {
      /* a close follows */
    };
    ws.onclose = (ev: { code?: number; reason?: string }) => {
      if (gen === this.#gen) this.#onClose(ev.code ?? 1006, String(ev.reason ?? ''));
    };
    this.#startHeartbeat(gen);
  }

  #onMessage(data: unknown): void {
    this.#lastHeard = Date.now();
    let f: ServerFrame;
    try {
      f = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      return;
    }
    if (typeof f !== 'object' || f === null || typeof f.type !== 'string') return;
    // A long replay is progress, not silence: the timeout counts from the last frame.
    if (this.#phase === 'subscribing' && f.type !== 'pong' && f.type !== 'ready') this.#armSubscribeTimeout();
    switch (f.type) {
      case 'ready': {
        this.#hooks.onReady(f);
        this.#phase = 'subscribing';
        this.#replayed.clear();
        const cursors: Cursor[] = [...this.cursors].map(([id, c]) => ({ conversation_id: id, last_seq: c.seq, last_change_seq: c.change }));
        // The cursors' epoch goes with them: after a restore the server has another one and
        // answers snapshot_required instead of "nothing missed" (its seqs start lower).
        this.epoch ??= f.epoch;
        this.#ws?.send(JSON.stringify({ type: 'subscribe', cursors, epoch: this.epoch } satisfies ClientFrame<'subscribe'>));
        this.#armSubscribeTimeout();
        return;
      }
      case 'subscribed': {
        this.#clearSubscribeTimeout();
        // The replays are complete: everything up to where each conversation stood, and what
        // the replay and the live events after it showed, has been delivered.
        const listed = new Set<number>();
        for (const c of f.conversations) {
          listed.add(c.id);
          const old = this.cursors.get(c.id);
          const seen = this.#replayed.get(c.id);
          this.cursors.set(c.id, {
            seq: Math.max(old?.seq ?? 0, seen?.seq ?? 0, c.last_seq),
            change: Math.max(old?.change ?? 0, seen?.change ?? 0, c.change_seq),
          });
        }
        // Conversations not listed are not yours any more (deleted, or you were removed).
        for (const id of [...this.cursors.keys()]) if (!listed.has(id)) this.cursors.delete(id);
        // Events of conversations created during the subscribe.
        for (const [id, seen] of this.#replayed) if (!listed.has(id)) this.cursors.set(id, seen);
        this.#replayed.clear();
        // Every cursor now is of the server's epoch (the others were answered snapshot_required).
        this.epoch = f.epoch;
        this.#phase = 'online';
        this.#attempt = 0;
        this.#setStatus({ status: 'online' });
        this.#hooks.onOnline(f);
        return;
      }
      case 'pong':
        return;
      case 'error':
        // Sends wait for `online`, so an error while subscribing answers the subscribe: it
        // failed (the server could not read a conversation), and a new socket tries again.
        if (this.#phase === 'subscribing') return this.drop(`subscribe refused: ${String((f as { message?: unknown }).message ?? '')}`);
        break;
      case 'message':
      case 'message_changed': {
        // During the replay the cursor stays put: a socket lost halfway replays again.
        const marks = this.#phase === 'online' ? this.cursors : this.#replayed;
        const cur = marks.get(f.conversation_id) ?? { seq: 0, change: 0 };
        marks.set(f.conversation_id, { seq: Math.max(cur.seq, f.message.seq), change: Math.max(cur.change, f.message.change_seq) });
        if (f.type === 'message') this.#acknowledge(f.conversation_id, f.message.seq);
        break;
      }
    }
    this.#hooks.onFrame(f);
  }

  /**
   * This device holds the message: the server counts it delivered (receipts) and sends no
   * push for it. Acks of one turn go out together, one frame per conversation.
   */
  #acknowledge(conversationId: number, seq: number): void {
    const first = this.#unacked.size === 0;
    if ((this.#unacked.get(conversationId) ?? 0) < seq) this.#unacked.set(conversationId, seq);
    if (!first) return;
    queueMicrotask(() => {
      for (const [id, upTo] of this.#unacked) this.#ws?.send(JSON.stringify({ type: 'ack', conversation_id: id, seq: upTo } satisfies ClientFrame<'ack'>));
      this.#unacked.clear();
    });
  }

  #onClose(code: number, reason: string): void {
    this.#teardown();
    if (!this.#wanted) return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this.#wanted = false;
      this.#setStatus({ status: 'offline', code, reason, final: true });
      this.#hooks.onFatal(new ParleyError('not_authenticated', `The server refused the socket (${code}${reason ? `: ${reason}` : ''})`));
      return;
    }
    this.#retry(code, reason);
  }

  #retry(code: number, reason: string): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (!this.#reconnect) {
      this.#wanted = false;
      this.#setStatus({ status: 'offline', code, reason, final: true });
      return;
    }
    this.#attempt++;
    // The server's hint spreads a storm of reconnects over the time it needs to serve them.
    const delay = retryHintOf(code, reason) ?? backoffDelay(this.#attempt, this.#reconnect);
    this.#setStatus({ status: 'offline', code, reason, attempt: this.#attempt, retryInMs: delay });
    this.#schedule(delay);
  }

  #schedule(delay: number): void {
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#wanted || this.#phase !== 'idle') return;
      if (this.#hooks.networkDown?.() && this.#reconnect) return this.#schedule(this.#reconnect.maxDelayMs);
      void this.#open();
    }, delay);
  }

  /**
   * A subscribe that is never answered — the server lost track of it — would leave the
   * socket "subscribing" for good while pings keep it alive (issue 15 item 2): past the
   * timeout it is dropped, and the next socket subscribes again.
   */
  #armSubscribeTimeout(): void {
    this.#clearSubscribeTimeout();
    if (this.#subscribeTimeoutMs <= 0) return;
    const gen = this.#gen;
    this.#subscribeTimer = setTimeout(() => {
      this.#subscribeTimer = null;
      if (gen === this.#gen && this.#phase === 'subscribing') this.drop(`no answer to subscribe within ${this.#subscribeTimeoutMs} ms`);
    }, this.#subscribeTimeoutMs);
  }

  #clearSubscribeTimeout(): void {
    if (this.#subscribeTimer) clearTimeout(this.#subscribeTimer);
    this.#subscribeTimer = null;
  }

  /** Forgets the current socket (its late callbacks are ignored) and closes it. */
  #teardown(code?: number, reason?: string): void {
    this.#gen++;
    this.#clearSubscribeTimeout();
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    if (this.#retryTimer && code !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    const ws = this.#ws;
    this.#ws = null;
    this.#phase = 'idle';
    this.#replayed.clear();
    if (ws && code !== undefined) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.onerror = () => {};
      try {
        ws.close(code, reason);
      } catch {
        /* already closed */
      }
      (ws as { terminate?: () => void }).terminate?.();
    }
  }

  #startHeartbeat(gen: number): void {
    const hb = this.#heartbeat;
    if (!hb) return;
    this.#pingTimer = setInterval(() => {
      if (gen !== this.#gen) return;
      if (Date.now() - this.#lastHeard > hb.timeoutMs) return this.drop('no answer to ping');
      if (this.#phase === 'subscribing' || this.#phase === 'online') {
        try {
          this.#ws?.send('{"type":"ping"}');
        } catch {
          /* the close handler takes over */
        }
      }
    }, hb.intervalMs);
    (this.#pingTimer as { unref?: () => void }).unref?.();
  }

  #setStatus(e: StatusEvent): void {
    this.status = e.status;
    this.#hooks.onStatus(e);
  }
}
