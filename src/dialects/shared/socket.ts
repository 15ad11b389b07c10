import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { DomainError, isDomainError } from '../../core/errors.js';
import type { User } from '../../core/model.js';
import { CloseCodes, Connection, type EventRenderer } from '../../delivery/connection.js';
import type { DialectContext } from '../dialect.js';
import { errorText, type Texts } from './errors.js';
import { FrameError, parseFrame } from './frames.js';
import { UNAUTHENTICATED_FRAME_BYTES } from '../../http/server.js';
import { admissionOf, closeAndTerminate, handshakeOf, setFrameLimit, terminateSoon, type Turn } from './admission.js';
import { parseFileFrame } from './file-frames.js';
import { callerOf, checkScope, tenantOriginRule, type Caller } from './auth.js';

/**
 * A frame's handler. A socket's frames run one at a time, in order; `ordered` lets the next one
 * start before this one settles, once what this one does has its place (a send queued for
 * its commit: the next send queues behind it, and neither waits for the other's disk flush).
 */
export type FrameHandler<S> = (conn: Connection<S>, frame: Record<string, unknown>, ordered: () => void) => Promise<void>;

export interface SocketOptions<S> {
  renderer: EventRenderer<S>;
  texts?: Texts;
  /**
   * Documents that authenticate with a first frame (003, Parley's own): the token that frame
   * carries, if any. Asked only when the handshake had no valid token (see handshakeUser).
   */
  firstFrameToken?(frame: Record<string, unknown> | null): string | undefined;
  /** Refuses an authenticated user this socket is not for (throws SocketNotAllowed), e.g. of another tenant. */
  admit?(user: User): void;
  /** How a refused authentication closes: the dialect's map (its codes.ts). */
  closeCodes: CloseCodeMap;
  /**
   * Whether `send_message` frames may carry base64 files (documents 000/001/002): then, once
   * authenticated, a frame may reach WS_MAX_PAYLOAD_BYTES as long as what is not `file_data`
   * fits WS_MAX_FRAME_BYTES. Other sockets' frames are WS_MAX_FRAME_BYTES at most.
   */
  files?: boolean;
  initialState(): S;
  /** After the connection is registered; may join rooms or close it. */
  ready?(conn: Connection<S>): Promise<void>;
  handlers: Record<string, FrameHandler<S>>;
  /**
   * The frames of `handlers` that change stored state (reactions, edits, deletes, read marks,
   * roles, presence): each takes from the user's write budget, the one REST writes take from
   * (RateLimits.write), so sockets are no way around it. Not a send (the core limits messages
   * on their own) and not typing, joins or pings, which store nothing.
   */
  writes: readonly string[];
  /**
   * The frames that send a message: one may start as soon as the socket's frames before it
   * have their place (a send before it queued for its commit, see FrameHandler's `ordered`).
   * Any other frame waits until every frame before it has settled, as before: a join after a
   * send must not take the socket off the room before that send's ack reaches it.
   */
  sends?: readonly string[];
  /**
   * Sockets that API keys may open (Parley's own; the route's socketHandshake passes
   * `apiKeys: true` too): `reads` are the frames a key permitted only to read may send (joins,
   * pings); any other frame needs a key permitted to write, else an `api_key_scope` error frame.
   */
  apiKeys?: { reads: readonly string[] };
  /** Builds the error frame (documents differ only in extras). */
  errorFrame?(message: string, extra: Record<string, unknown>): Record<string, unknown>;
}

/** Frames a socket may have waiting to be handled before Parley stops reading from it. */
const MAX_QUEUED_FRAMES = 256;
/** The same before the socket is authenticated: a client has little to say before it knows it is in. */
const MAX_EARLY_FRAMES = 16;
/** How long a socket without a token at the handshake has to send its first (authenticating) frame. */
const FIRST_FRAME_TIMEOUT_MS = 10_000;

/** A frame as received, with the big-frame turn it holds or waits for (if it is over WS_MAX_FRAME_BYTES). */
interface Incoming {
  data: Buffer;
  binary: boolean;
  turn: Turn | null;
}

const asBuffer = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

/** A close code and reason. */
export interface Close {
  code: number;
  reason: string;
}

/**
 * How a dialect's sockets close on a refused authentication (its codes.ts): the shared code
 * decides which case a refusal is (closeFor), the dialect only words it.
 */
export interface CloseCodeMap {
  /** A missing or invalid token, or a user that no longer exists. */
  invalidToken: Close;
  /** Any other failure while authenticating; the same as `invalidToken` if not given. */
  authFailed?: Close;
  /** An authenticated user this socket is not for (`admit` threw SocketNotAllowed). */
  notAllowed?: Close;
}

/** Thrown by a socket's `admit` for a user it is not for, e.g. of another tenant. */
export class SocketNotAllowed extends Error {}

/** The close a refused authentication gets, per the dialect's map. */
export function closeFor(error: unknown, codes: CloseCodeMap): Close {
  if (error instanceof SocketNotAllowed && codes.notAllowed) return codes.notAllowed;
  if (isDomainError(error) && error.kind === 'unauthenticated') return codes.invalidToken;
  return codes.authFailed ?? codes.invalidToken;
}

// Why a socket is not being read from (too many frames waiting, a big frame waiting for its
// turn while arriving or whole); it is read again when no reason is left.
type PauseReason = 'queue' | 'arriving' | 'whole';

/**
 * Everything a dialect's socket shares: admission (the handshake's verdict from
 * socketHandshake, a first-frame token, frame limits per phase, see admission.ts), frames that
 * arrive during authentication kept in order, bad frames answered with an error frame while
 * the socket stays open, every socket registered with the hub and presence until it closes.
 * The route must have `preValidation: socketHandshake(ctx, …)`; it calls `SocketSession.accept`.
 */
export class SocketSession<S> {
  readonly #ctx: DialectContext;
  readonly #socket: WebSocket;
  readonly #request: FastifyRequest;
  readonly #opts: SocketOptions<S>;
  readonly #admission: ReturnType<typeof admissionOf>;
  readonly #jsonLimit: number;
  /** Whether, once authenticated, frames may be big (base64 files, see SocketOptions.files). */
  readonly #files: boolean;
  readonly #writes: ReadonlySet<string>;
  readonly #keyReads: ReadonlySet<string>;
  /** The API key's scopes of a socket a key opened; null for a person's. */
  #scopes: Caller['scopes'] = null;
  readonly #errorFrame: NonNullable<SocketOptions<S>['errorFrame']>;
  /** This phase's frame limit: unauthenticated, then the JSON or the files limit. */
  #limit: number;
  #authenticated = false;
  /** Whether the socket counts against its address's cap of unauthenticated sockets. */
  #counted = false;
  /** Frames that arrived before the connection was ready, handled in order once it is. */
  readonly #early: Incoming[] = [];
  #conn: Connection<S> | null = null;
  /**
   * Frames run in order: the next may start once the last one is ordered (`#chain`), or,
   * unless it is a send, once every frame before it has settled (`#settled`).
   */
  #chain: Promise<void> = Promise.resolve();
  #settled: Promise<void> = Promise.resolve();
  readonly #sends: ReadonlySet<string>;
  #queued = 0;
  /** Rate-refused frames in a row. */
  #refused = 0;
  readonly #pausedFor = new Set<PauseReason>();
  #firstWaiter: ((m: Incoming | null) => void) | null = null;
  /** Bytes of the frame arriving now, and the big-frame turn taken for it. */
  #arriving = 0;
  #turn: Turn | null = null;

  static accept<S>(ctx: DialectContext, socket: WebSocket, request: FastifyRequest, opts: SocketOptions<S>): SocketSession<S> {
    const session = new SocketSession(ctx, socket, request, opts);
    session.#start();
    return session;
  }

  private constructor(ctx: DialectContext, socket: WebSocket, request: FastifyRequest, opts: SocketOptions<S>) {
    for (const w of opts.writes) if (!Object.hasOwn(opts.handlers, w)) throw new Error(`writes names a frame with no handler: ${w}`);
    this.#ctx = ctx;
    this.#socket = socket;
    this.#request = request;
    this.#opts = opts;
    this.#admission = admissionOf(ctx);
    const { config } = ctx;
    this.#jsonLimit = Math.min(config.wsMaxFrameBytes, config.wsMaxPayloadBytes);
    this.#files = opts.files === true && config.wsMaxPayloadBytes > this.#jsonLimit;
    this.#limit = Math.min(UNAUTHENTICATED_FRAME_BYTES, config.wsMaxPayloadBytes);
    this.#writes = new Set(opts.writes);
    this.#sends = new Set(opts.sends);
    this.#keyReads = new Set(opts.apiKeys?.reads);
    this.#errorFrame = opts.errorFrame ?? ((message, extra) => ({ type: 'error', message, ...extra }));
  }

  #start(): void {
    const socket = this.#socket;
    // ws emits receiver errors (a frame over the limit: 1009, bad UTF-8, bad framing) after
    // closing; the peer then has REFUSED_LINGER_MS to answer, not 30 s.
    socket.on('error', () => terminateSoon(socket));

    const verdict = handshakeOf(this.#request) ?? { kind: 'refused' as const, error: new Error('socket route without socketHandshake') };
    if (verdict.kind === 'refused' && !isDomainError(verdict.error)) this.#logError(verdict.error);
    // Shutting down: the client reconnects to another process.
    if (!this.#ctx.hub.accepting) return closeAndTerminate(socket, CloseCodes.goingAway, 'server shutting down');
    setFrameLimit(socket, this.#limit);

    if (verdict.kind !== 'user') {
      // Raced past the handshake's check: the upgrade is done, the socket is not kept.
      if (!this.#admission.unauthenticated.add(this.#request.ip)) return socket.terminate();
      this.#counted = true;
      socket.once('close', () => this.#uncount());
    }
    if (verdict.kind === 'refused') return this.#refuse(verdict.error);

    socket.once('close', () => {
      this.#request.raw.socket.off('data', this.#onBytes);
      this.#turn?.cancel();
      for (const m of this.#early.splice(0)) m.turn?.cancel();
      // Gone before its first frame: nothing more to wait for.
      this.#firstWaiter?.(null);
    });
    socket.on('message', (data, binary) => this.#onMessage(asBuffer(data), binary));
    void this.#authenticate(verdict.kind === 'user' ? verdict : null);
  }

  #logError = (e: unknown): void => {
    this.#ctx.log.error({ err: e }, 'socket handler failed');
  };

  #uncount(): void {
    if (this.#counted) this.#admission.unauthenticated.remove(this.#request.ip);
    this.#counted = false;
  }

  #refuse(error: unknown): void {
    const { code, reason } = closeFor(error, this.#opts.closeCodes);
    closeAndTerminate(this.#socket, code, reason);
  }

  #pause(why: PauseReason): void {
    if (this.#pausedFor.size === 0) this.#socket.pause();
    this.#pausedFor.add(why);
  }

  #resume(why: PauseReason): void {
    if (this.#pausedFor.delete(why) && this.#pausedFor.size === 0) this.#socket.resume();
  }

  #reply(c: Connection<S>, message: string, extra: Record<string, unknown> = {}): void {
    c.send(JSON.stringify(this.#errorFrame(message, extra)));
  }

  #tooBig(c: Connection<S> | null): void {
    if (c) c.closed = true;
    closeAndTerminate(this.#socket, CloseCodes.tooBig, 'Frame too big');
  }

  async #handle(c: Connection<S>, m: Incoming, ordered: () => void, settledBefore: Promise<void>): Promise<void> {
    // The peer is gone: its frames not started yet are not run. It sends them again (same
    // local_temp_id) on its next connection, so running them late would only race that retry.
    if (c.closed) return;
    const { core, config } = this.#ctx;
    const jsonLimit = this.#jsonLimit;
    const wait = await core.rateLimits.frame(c.id);
    if (wait > 0) {
      // Over the per-connection rate: the frame is dropped; a peer that keeps flooding is closed.
      if (++this.#refused > config.rateLimits.connectionFramesBurst) return c.close(CloseCodes.policyViolation, 'flooding');
      return this.#reply(c, 'Too many messages; slow down', { code: 'rate_limited', retry_after_ms: wait, ...(m.data.length <= jsonLimit ? tempIdOf(m.data) : {}) });
    }
    this.#refused = 0;
    if (m.binary) return this.#reply(c, 'Binary frames are not supported; send JSON text', { code: 'invalid_frame' });
    let frame: Record<string, unknown> | null;
    if (m.data.length <= jsonLimit) frame = parseFrame(m.data.toString());
    else {
      // It arrived whole before its turn was asked for (one chunk): it waits for one, and so does the socket.
      m.turn ??= this.#admission.bigFrames.take();
      if (!m.turn.ready) this.#pause('whole');
      await m.turn.turn;
      this.#resume('whole');
      if (c.closed) return;
      const parsed = this.#files ? parseFileFrame(m.data, jsonLimit) : 'too big';
      if (parsed === 'too big') return this.#tooBig(c);
      frame = parsed;
    }
    if (!frame) return this.#reply(c, 'Invalid JSON: a frame is a JSON object', { code: 'invalid_frame' });
    const { handlers, texts } = this.#opts;
    const type = frame.type;
    const handler = typeof type === 'string' && Object.hasOwn(handlers, type) ? handlers[type] : undefined;
    if (!handler) return this.#reply(c, `Unknown message type: ${typeof type === 'string' ? type.slice(0, 64) : String(type)}`, { code: 'unknown_type' });
    if (!this.#sends.has(type as string)) {
      await settledBefore;
      if (c.closed) return;
    }
    try {
      if (this.#scopes !== null) checkScope({ user: c.user, scopes: this.#scopes }, this.#keyReads.has(type as string) ? 'read' : 'write');
      if (this.#writes.has(type as string)) await core.rateLimits.write(c.user.id);
      await handler(c, frame, ordered);
    } catch (e) {
      const tempId = localTempIdOf(frame);
      const extra: Record<string, unknown> = tempId !== undefined ? { local_temp_id: tempId } : {};
      if (isDomainError(e) && e.details.retryAfterMs !== undefined) extra.retry_after_ms = e.details.retryAfterMs;
      if (isDomainError(e)) this.#reply(c, errorText(e, texts), { code: e.code, ...extra });
      else if (e instanceof FrameError) this.#reply(c, e.message, { code: 'invalid_frame', ...extra });
      else {
        this.#logError(e);
        this.#reply(c, 'Internal error', { code: 'internal', ...extra });
      }
    }
  }

  /**
   * Runs `m` after the socket's frames before it. The next frame may start once this one is
   * ordered (its handler said so, or it settled: `#chain`); the hub tracks it until it settles.
   * Frames still running count against MAX_QUEUED_FRAMES either way.
   */
  #run(c: Connection<S>, m: Incoming): void {
    let ordered!: () => void;
    const next = new Promise<void>((resolve) => (ordered = resolve));
    const settledBefore = this.#settled;
    const done = this.#chain
      .then(() => this.#handle(c, m, ordered, settledBefore))
      .catch(this.#logError)
      .finally(() => {
        ordered();
        m.turn?.cancel();
        if (--this.#queued <= MAX_QUEUED_FRAMES / 4) this.#resume('queue');
      });
    this.#settled = settledBefore.then(() => done);
    this.#chain = next;
    void this.#ctx.hub.track(done);
  }

  /** The first frame, parsed (null if none comes in FIRST_FRAME_TIMEOUT_MS, or it is not JSON). */
  #takeFirst(): Promise<Record<string, unknown> | null> {
    return new Promise((resolve) => {
      const done = (m: Incoming | null) => {
        clearTimeout(timer);
        this.#firstWaiter = null;
        resolve(m && !m.binary ? parseFrame(m.data.toString()) : null);
      };
      const timer = setTimeout(() => done(null), FIRST_FRAME_TIMEOUT_MS);
      if (this.#early.length > 0) {
        this.#queued--;
        done(this.#early.shift()!);
      } else this.#firstWaiter = done;
    });
  }

  // Big frames (files sockets, once authenticated): a turn is asked for as soon as more than
  // WS_MAX_FRAME_BYTES of one frame has arrived, and the socket is not read further until it
  // comes. Counted before ws sees the chunk (prependListener), reset by each whole frame.
  #onBytes = (chunk: Buffer): void => {
    this.#arriving += chunk.length;
    if (this.#arriving <= this.#jsonLimit || this.#turn) return;
    const turn = (this.#turn = this.#admission.bigFrames.take());
    if (turn.ready) return;
    this.#pause('arriving');
    void turn.turn.then(() => this.#resume('arriving'));
  };

  #onMessage(data: Buffer, binary: boolean): void {
    // Shutting down: a frame not taken yet is not taken at all; the client sends it again
    // (same local_temp_id) after reconnecting elsewhere.
    if (!this.#ctx.hub.accepting) return;
    const m: Incoming = { data, binary, turn: null };
    this.#arriving = 0;
    if (m.data.length > this.#jsonLimit) m.turn = this.#turn;
    // Counted from chunks, small frames in a row can look like a big one: the turn goes back.
    else this.#turn?.cancel();
    this.#turn = null;
    // What ws let through is within this phase's limit; checked here too, so a ws that stopped
    // honouring setFrameLimit cannot get a big frame parsed.
    if (m.data.length > this.#limit) {
      m.turn?.cancel();
      return this.#tooBig(this.#conn);
    }
    if (this.#firstWaiter) return this.#firstWaiter(m);
    // A peer that sends faster than its frames are handled is stopped reading from (TCP
    // pushes back) until it catches up.
    if (++this.#queued >= (this.#authenticated ? MAX_QUEUED_FRAMES : MAX_EARLY_FRAMES)) this.#pause('queue');
    if (!this.#conn) {
      this.#early.push(m);
      return;
    }
    this.#run(this.#conn, m);
  }

  /** The handshake's caller, or the first frame's token's; then the connection is registered. */
  async #authenticate(handshakeCaller: Caller | null): Promise<void> {
    const ctx = this.#ctx;
    const { config } = ctx;
    const socket = this.#socket;
    const opts = this.#opts;
    let user: User;
    try {
      const caller = handshakeCaller ?? (await callerOf(ctx.core, opts.firstFrameToken ? opts.firstFrameToken(await this.#takeFirst()) : undefined, opts.apiKeys !== undefined));
      user = caller.user;
      this.#scopes = caller.scopes;
      opts.admit?.(user);
      // Let in before its user was known (socketHandshake): now its tenant's origins decide.
      if (!handshakeCaller && !(await tenantOriginRule(ctx.core, config, this.#request, user.tenantId)).allowed) throw new DomainError('origin_not_allowed');
    } catch (e) {
      return this.#refuse(e);
    }
    if (socket.readyState !== socket.OPEN) return;
    this.#uncount();
    this.#authenticated = true;
    this.#limit = this.#files ? config.wsMaxPayloadBytes : this.#jsonLimit;
    setFrameLimit(socket, this.#limit);
    if (this.#files) this.#request.raw.socket.prependListener('data', this.#onBytes);
    const c = new Connection<S>(user, socket, opts.renderer, opts.initialState(), config.wsSendBufferBytes);
    ctx.hub.add(c);
    socket.on('close', () => {
      c.closed = true;
      ctx.hub.remove(c);
      void ctx.core.presence.disconnected(user, c.id).catch(this.#logError);
    });
    try {
      await ctx.core.presence.connected(user, c.id);
      if (opts.ready) await opts.ready(c);
    } catch (e) {
      this.#logError(e);
      c.close(CloseCodes.authFailed, 'connection setup failed');
      return terminateSoon(socket);
    }
    // Refused by `ready` (e.g. a room that is not the user's, 4003): cut like any refusal.
    if (c.closed || socket.readyState !== socket.OPEN) return terminateSoon(socket);
    this.#conn = c;
    for (const m of this.#early.splice(0)) this.#run(c, m);
  }
}

function tempIdOf(data: Buffer): Record<string, unknown> {
  const frame = parseFrame(data.toString());
  const t = frame ? localTempIdOf(frame) : undefined;
  return t === undefined ? {} : { local_temp_id: t };
}

export { FrameError };

function localTempIdOf(frame: Record<string, unknown>): unknown {
  const data = frame.data as Record<string, unknown> | undefined;
  const v = (data && typeof data === 'object' ? data.local_temp_id : undefined) ?? frame.local_temp_id;
  return typeof v === 'string' || typeof v === 'number' ? v : undefined;
}
