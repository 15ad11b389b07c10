import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { isDomainError } from '../../core/errors.js';
import type { User } from '../../core/model.js';
import { CloseCodes, Connection, type EventRenderer } from '../../delivery/connection.js';
import type { DialectContext } from '../dialect.js';
import { errorText, type Texts } from './errors.js';
import { FrameError, parseFrame } from './frames.js';
import { UNAUTHENTICATED_FRAME_BYTES } from '../../http/server.js';
import { admissionOf, closeAndTerminate, handshakeOf, setFrameLimit, terminateSoon, type Turn } from './admission.js';
import { parseFileFrame } from './file-frames.js';

export type FrameHandler<S> = (conn: Connection<S>, frame: Record<string, unknown>) => Promise<void>;

export interface SocketOptions<S> {
  renderer: EventRenderer<S>;
  texts?: Texts;
  /**
   * Documents that authenticate with a first frame (003, Parley's own): the token that frame
   * carries, if any. Asked only when the handshake had no valid token (see handshakeUser).
   */
  firstFrameToken?(frame: Record<string, unknown> | null): string | undefined;
  /** Refuses (throws) an authenticated user this socket is not for, e.g. of another tenant. */
  admit?(user: User): void;
  /** Close code and reason for a refused authentication. */
  refuse(error: unknown): { code: number; reason: string };
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

/**
 * Everything a dialect's socket shares: admission (the handshake's verdict from
 * socketHandshake, a first-frame token, frame limits per phase, see admission.ts), frames that
 * arrive during authentication kept in order, bad frames answered with an error frame while
 * the socket stays open, every socket registered with the hub and presence until it closes.
 * The route must have `preValidation: socketHandshake(ctx, …)`.
 */
export function acceptSocket<S>(ctx: DialectContext, socket: WebSocket, request: FastifyRequest, opts: SocketOptions<S>): void {
  const { config } = ctx;
  const admission = admissionOf(ctx);
  // ws emits receiver errors (a frame over the limit: 1009, bad UTF-8, bad framing) after
  // closing; the peer then has REFUSED_LINGER_MS to answer, not 30 s.
  socket.on('error', () => terminateSoon(socket));

  const verdict = handshakeOf(request) ?? { kind: 'refused' as const, error: new Error('socket route without socketHandshake') };
  if (verdict.kind === 'refused' && !isDomainError(verdict.error)) logError(verdict.error);
  // Shutting down: the client reconnects to another process.
  if (!ctx.hub.accepting) return closeAndTerminate(socket, CloseCodes.goingAway, 'server shutting down');

  const unauthenticatedLimit = Math.min(UNAUTHENTICATED_FRAME_BYTES, config.wsMaxPayloadBytes);
  const jsonLimit = Math.min(config.wsMaxFrameBytes, config.wsMaxPayloadBytes);
  const files = opts.files === true && config.wsMaxPayloadBytes > jsonLimit;
  let limit = unauthenticatedLimit;
  let authenticated = false;
  setFrameLimit(socket, limit);

  // Until it is authenticated, the socket counts against its address's cap.
  const address = request.ip;
  let counted = false;
  const uncount = () => {
    if (counted) admission.unauthenticated.remove(address);
    counted = false;
  };
  if (verdict.kind !== 'user') {
    // Raced past the handshake's check: the upgrade is done, the socket is not kept.
    if (!admission.unauthenticated.add(address)) return socket.terminate();
    counted = true;
    socket.once('close', uncount);
  }
  const refuse = (e: unknown) => {
    const { code, reason } = opts.refuse(e);
    closeAndTerminate(socket, code, reason);
  };
  if (verdict.kind === 'refused') return refuse(verdict.error);

  const early: Incoming[] = [];
  let conn: Connection<S> | null = null;
  let chain: Promise<void> = Promise.resolve();
  const errorFrame = opts.errorFrame ?? ((message, extra) => ({ type: 'error', message, ...extra }));

  // Why the socket is not being read from (too many frames waiting, a big frame waiting for
  // its turn while arriving or whole); it is read again when no reason is left.
  type PauseReason = 'queue' | 'arriving' | 'whole';
  const pausedFor = new Set<PauseReason>();
  const pause = (why: PauseReason) => {
    if (pausedFor.size === 0) socket.pause();
    pausedFor.add(why);
  };
  const resume = (why: PauseReason) => {
    if (pausedFor.delete(why) && pausedFor.size === 0) socket.resume();
  };

  const reply = (c: Connection<S>, message: string, extra: Record<string, unknown> = {}) =>
    c.send(JSON.stringify(errorFrame(message, extra)));
  for (const w of opts.writes) if (!Object.hasOwn(opts.handlers, w)) throw new Error(`writes names a frame with no handler: ${w}`);
  const writes = new Set(opts.writes);

  const tooBig = (c: Connection<S> | null) => {
    if (c) c.closed = true;
    closeAndTerminate(socket, CloseCodes.tooBig, 'Frame too big');
  };

  let refused = 0;
  const handle = async (c: Connection<S>, m: Incoming) => {
    // The peer is gone: its frames not started yet are not run. It sends them again (same
    // local_temp_id) on its next connection, so running them late would only race that retry.
    if (c.closed) return;
    const wait = await ctx.core.rateLimits.frame(c.id);
    if (wait > 0) {
      // Over the per-connection rate: the frame is dropped; a peer that keeps flooding is closed.
      if (++refused > ctx.config.rateLimits.connectionFramesBurst) return c.close(CloseCodes.policyViolation, 'flooding');
      return reply(c, 'Too many messages; slow down', { code: 'rate_limited', retry_after_ms: wait, ...(m.data.length <= jsonLimit ? tempIdOf(m.data) : {}) });
    }
    refused = 0;
    if (m.binary) return reply(c, 'Binary frames are not supported; send JSON text', { code: 'invalid_frame' });
    let frame: Record<string, unknown> | null;
    if (m.data.length <= jsonLimit) frame = parseFrame(m.data.toString());
    else {
      // It arrived whole before its turn was asked for (one chunk): it waits for one, and so does the socket.
      m.turn ??= admission.bigFrames.take();
      if (!m.turn.ready) pause('whole');
      await m.turn.turn;
      resume('whole');
      if (c.closed) return;
      const parsed = files ? parseFileFrame(m.data, jsonLimit) : 'too big';
      if (parsed === 'too big') return tooBig(c);
      frame = parsed;
    }
    if (!frame) return reply(c, 'Invalid JSON: a frame is a JSON object', { code: 'invalid_frame' });
    const type = frame.type;
    const handler = typeof type === 'string' && Object.hasOwn(opts.handlers, type) ? opts.handlers[type] : undefined;
    if (!handler) return reply(c, `Unknown message type: ${typeof type === 'string' ? type.slice(0, 64) : String(type)}`, { code: 'unknown_type' });
    try {
      if (writes.has(type as string)) await ctx.core.rateLimits.write(c.user.id);
      await handler(c, frame);
    } catch (e) {
      const tempId = localTempIdOf(frame);
      const extra: Record<string, unknown> = tempId !== undefined ? { local_temp_id: tempId } : {};
      if (isDomainError(e) && e.details.retryAfterMs !== undefined) extra.retry_after_ms = e.details.retryAfterMs;
      if (isDomainError(e)) reply(c, errorText(e, opts.texts), { code: e.code, ...extra });
      else if (e instanceof FrameError) reply(c, e.message, { code: 'invalid_frame', ...extra });
      else {
        logError(e);
        reply(c, 'Internal error', { code: 'internal', ...extra });
      }
    }
  };

  let queued = 0;
  const run = (c: Connection<S>, m: Incoming) =>
    chain
      .then(() => handle(c, m))
      .catch(logError)
      .finally(() => {
        m.turn?.cancel();
        if (--queued <= MAX_QUEUED_FRAMES / 4) resume('queue');
      });

  let firstWaiter: ((m: Incoming | null) => void) | null = null;
  const takeFirst = () =>
    new Promise<Record<string, unknown> | null>((resolve) => {
      const done = (m: Incoming | null) => {
        clearTimeout(timer);
        firstWaiter = null;
        resolve(m && !m.binary ? parseFrame(m.data.toString()) : null);
      };
      const timer = setTimeout(() => done(null), FIRST_FRAME_TIMEOUT_MS);
      if (early.length > 0) {
        queued--;
        done(early.shift()!);
      } else firstWaiter = done;
    });

  // Big frames (files sockets, once authenticated): a turn is asked for as soon as more than
  // WS_MAX_FRAME_BYTES of one frame has arrived, and the socket is not read further until it
  // comes. Counted before ws sees the chunk (prependListener), reset by each whole frame.
  let arriving = 0;
  let turn: Turn | null = null;
  const onBytes = (chunk: Buffer) => {
    arriving += chunk.length;
    if (arriving <= jsonLimit || turn) return;
    turn = admission.bigFrames.take();
    if (turn.ready) return;
    pause('arriving');
    void turn.turn.then(() => resume('arriving'));
  };
  const raw = request.raw.socket;
  socket.once('close', () => {
    raw.off('data', onBytes);
    turn?.cancel();
    for (const m of early.splice(0)) m.turn?.cancel();
    // Gone before its first frame: nothing more to wait for.
    firstWaiter?.(null);
  });

  socket.on('message', (data, binary) => {
    // Shutting down: a frame not taken yet is not taken at all; the client sends it again
    // (same local_temp_id) after reconnecting elsewhere.
    if (!ctx.hub.accepting) return;
    const m: Incoming = { data: asBuffer(data), binary, turn: null };
    arriving = 0;
    if (m.data.length > jsonLimit) m.turn = turn;
    // Counted from chunks, small frames in a row can look like a big one: the turn goes back.
    else turn?.cancel();
    turn = null;
    // What ws let through is within this phase's limit; checked here too, so a ws that stopped
    // honouring setFrameLimit cannot get a big frame parsed.
    if (m.data.length > limit) {
      m.turn?.cancel();
      return tooBig(conn);
    }
    if (firstWaiter) return firstWaiter(m);
    // One frame at a time per socket, so its sends keep their order. A peer that sends faster
    // than its frames are handled is stopped reading from (TCP pushes back) until it catches up.
    if (++queued >= (authenticated ? MAX_QUEUED_FRAMES : MAX_EARLY_FRAMES)) pause('queue');
    if (!conn) {
      early.push(m);
      return;
    }
    chain = ctx.hub.track(run(conn, m));
  });

  void (async () => {
    let user: User;
    try {
      user =
        verdict.kind === 'user'
          ? verdict.user
          : await ctx.core.accounts.authenticate(opts.firstFrameToken ? opts.firstFrameToken(await takeFirst()) : undefined);
      opts.admit?.(user);
    } catch (e) {
      return refuse(e);
    }
    if (socket.readyState !== socket.OPEN) return;
    uncount();
    authenticated = true;
    limit = files ? config.wsMaxPayloadBytes : jsonLimit;
    setFrameLimit(socket, limit);
    if (files) raw.prependListener('data', onBytes);
    const c = new Connection<S>(user, socket, opts.renderer, opts.initialState(), ctx.config.wsSendBufferBytes);
    ctx.hub.add(c);
    socket.on('close', () => {
      c.closed = true;
      ctx.hub.remove(c);
      void ctx.core.presence.disconnected(user, c.id).catch(logError);
    });
    try {
      await ctx.core.presence.connected(user, c.id);
      if (opts.ready) await opts.ready(c);
    } catch (e) {
      logError(e);
      c.close(CloseCodes.authFailed, 'connection setup failed');
      return terminateSoon(socket);
    }
    // Refused by `ready` (e.g. a room that is not the user's, 4003): cut like any refusal.
    if (c.closed || socket.readyState !== socket.OPEN) return terminateSoon(socket);
    conn = c;
    for (const m of early.splice(0)) chain = run(c, m);
  })();
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

let logError: (e: unknown) => void = (e) => console.error(e);
export function setSocketErrorLogger(fn: (e: unknown) => void) {
  logError = fn;
}
