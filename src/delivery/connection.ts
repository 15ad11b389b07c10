import { randomUUID } from 'node:crypto';
import type { ConversationRef, DomainEvent } from '../core/events.js';
import type { Id, User } from '../core/model.js';

/** The only part of a WebSocket the delivery layer touches. */
export interface WebSocketLike {
  /** A Buffer is sent as a text frame when `binary` is false (it holds UTF-8 JSON). */
  send(data: string | Buffer, options?: { binary?: boolean }): void;
  close(code?: number, reason?: string): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
}

/**
 * How one dialect shows domain events on its sockets. The hub asks `key` for each
 * connection and renders `frame` once per distinct key, so an event is encoded once per
 * variant (e.g. sender / receiver), not once per socket.
 */
export interface EventRenderer<S = unknown> {
  readonly name: string;
  /** The variant of the frame this connection gets, or null if it does not show this event. */
  key(event: DomainEvent, conn: Connection<S>): string | null;
  frame(event: DomainEvent, conn: Connection<S>): string;
  /**
   * True when this socket's clients acknowledge what they hold (Parley's `ack` frame): a
   * message written to it is not delivered until the device says so. Otherwise (the
   * documents' sockets, whose clients have no ack) the write is the delivery.
   */
  readonly clientAcks?: boolean;
}

export const OPEN = 1;
const TEXT = { binary: false } as const;

/** The stream under a `ws` socket (its `_socket`), which can hold writes back. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/** What Connection reads of a `ws` socket to write a SharedFrame's bytes past it. */
interface WsInternals {
  _socket?: Corkable & { write(chunk: Buffer): boolean };
  /** `ws`'s Sender: DEFAULT (0) with nothing queued means no frame of its own is under way. */
  _sender?: { _state?: number; _queue?: unknown[] };
  /** Negotiated extensions: permessage-deflate means frames differ per socket. */
  _extensions?: Record<string, unknown>;
}

/**
 * A text frame many sockets get (a broadcast, an ack): encoded once, as the whole WebSocket
 * frame a server sends (RFC 6455 §5.2: final, text, unmasked, uncompressed), its UTF-8 bytes
 * written straight after the header. Through `ws.send` every socket framed it again: a
 * header buffer, an options object and two writes per delivery, a group's deliveries'
 * largest cost after the syscall itself.
 */
export class SharedFrame {
  /** Header and payload, as written to a socket without compression. */
  readonly wire: Buffer;
  /** The UTF-8 text alone (a view of `wire`), for a socket `ws` must frame itself. */
  readonly payload: Buffer;

  constructor(text: string) {
    const n = Buffer.byteLength(text);
    const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(head + n);
    out[0] = 0x81;
    if (n < 126) out[1] = n;
    else if (n < 65536) {
      out[1] = 126;
      out.writeUInt16BE(n, 2);
    } else {
      out[1] = 127;
      out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
      out.writeUInt32BE(n >>> 0, 6);
    }
    out.write(text, head);
    this.wire = out;
    this.payload = out.subarray(head);
  }
}

/**
 * Sockets written to in this turn of the event loop, corked: everything a socket is sent
 * before the loop's check phase (an ack and the deliveries of one group commit, say) goes
 * out in one writev instead of one syscall per frame.
 */
const corked: Corkable[] = [];
let uncorkScheduled = false;
/** Counts the flushes: a connection corked in this turn has `#corkedTurn === turn`. */
let turn = 0;
function uncorkAll(): void {
  uncorkScheduled = false;
  turn++;
  for (const s of corked.splice(0)) s.uncork();
}
function corkForThisTurn(raw: Corkable): void {
  raw.cork();
  corked.push(raw);
  if (!uncorkScheduled) {
    uncorkScheduled = true;
    setImmediate(uncorkAll);
  }
}

function directSender(socket: WebSocketLike): WsInternals['_sender'] | null {
  const ws = socket as WsInternals;
  if (!ws._socket || !ws._sender || !ws._extensions || Object.keys(ws._extensions).length > 0) return null;
  return ws._sender;
}

/** Close codes (docs/codes.md). */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  policyViolation: 1008,
  tooBig: 1009,
  authFailed: 4000,
  invalidToken: 4001,
  notAllowed: 4003,
  slowConsumer: 4008,
} as const;

/** One authenticated socket: who it is, how it renders, what it follows. */
export class Connection<S = unknown> {
  readonly id = randomUUID();
  /** Conversations whose events this socket receives. */
  readonly conversations = new Set<Id>();
  /**
   * Per conversation, a change_seq up to which this socket has every change (a replay's
   * position, the last change delivered in turn): nothing at or below it is shown again (a
   * live copy that follows a replay, a late copy).
   */
  marks: Map<Id, number> | null = null;
  /** Events held back while a resume replay is loading, per conversation. */
  held: Map<Id, DomainEvent[]> | null = null;
  /** Sockets that follow all of a user's conversations of some kind (004: direct) join new ones when this says so. */
  followNew: ((conversation: ConversationRef) => boolean) | null = null;
  closed = false;
  /** Sends nothing more (closing soon after the event stream lost events: see Hub.closeAllOver). */
  silenced = false;
  /** Told when this socket is closed as a slow consumer (metrics); set by the hub. */
  onSlowConsumer: (() => void) | null = null;

  constructor(
    readonly user: User,
    readonly socket: WebSocketLike,
    readonly renderer: EventRenderer<S>,
    /** The dialect's own per-socket state (e.g. the current room). */
    public state: S,
    readonly sendBufferLimit: number,
  ) {
    this.#direct = directSender(socket);
  }

  /**
   * Sends a frame unless the peer is too far behind; a slow consumer is closed with 4008. A
   * frame shared by many sockets comes as a SharedFrame, encoded and framed once: as a
   * string, `ws` would measure, encode and frame it again for every socket.
   */
  send(frame: string | SharedFrame): void {
    if (this.closed || this.silenced || this.socket.readyState !== OPEN) return;
    const raw = (this.socket as WsInternals)._socket;
    if (raw && this.#corkedTurn !== turn) {
      // What the peer has not taken of the turns before this one. This turn's own frames (a
      // group commit's, corked together) count from the next turn on: one large batch does
      // not make a socket that reads a slow consumer. Bound: the limit plus one turn's frames.
      this.#backlog = this.socket.bufferedAmount;
      this.#corkedTurn = turn;
      corkForThisTurn(raw);
    }
    if ((raw ? this.#backlog : this.socket.bufferedAmount) > this.sendBufferLimit) {
      this.close(CloseCodes.slowConsumer, 'slow consumer');
      this.onSlowConsumer?.();
      return;
    }
    if (typeof frame === 'string') this.socket.send(frame);
    else if (raw && this.#direct && this.#direct._state === 0 && this.#direct._queue?.length === 0) raw.write(frame.wire);
    else this.socket.send(frame.payload, TEXT);
  }
  /**
   * The `ws` Sender, where a SharedFrame's bytes may go straight to the stream: no compression
   * was negotiated (frames are then the same for every socket). Checked again per frame: the
   * Sender idle, so the bytes cannot overtake a frame of its own (a close, a ping).
   */
  readonly #direct: WsInternals['_sender'] | null;
  #corkedTurn = -1;
  /** `socket.bufferedAmount` at this turn's first frame (see send). */
  #backlog = 0;

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close(code, reason);
    } catch {
      /* already gone */
    }
  }
}
