import type { WebSocket } from 'ws';
import { isDomainError } from '../../core/errors.js';
import type { User } from '../../core/model.js';
import { CloseCodes, Connection, type EventRenderer } from '../../delivery/connection.js';
import type { DialectContext } from '../dialect.js';
import { errorText, type Texts } from './errors.js';
import { FrameError, parseFrame } from './frames.js';

export type FrameHandler<S> = (conn: Connection<S>, frame: Record<string, unknown>) => Promise<void>;

export interface SocketOptions<S> {
  renderer: EventRenderer<S>;
  texts?: Texts;
  /**
   * The user this socket speaks for; throw (any error) to refuse it. `firstFrame` takes the
   * socket's first frame (for documents that authenticate with one), or null after a timeout.
   */
  authenticate(firstFrame: () => Promise<Record<string, unknown> | null>): Promise<User>;
  /** Close code and reason for a refused authentication. */
  refuse(error: unknown): { code: number; reason: string };
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

/**
 * Everything a dialect's socket shares: frames that arrive during authentication are kept
 * in order, bad frames get an error frame and the socket stays open, every socket is
 * registered with the hub and presence until it closes.
 */
/** Frames a socket may have waiting to be handled before Parley stops reading from it. */
const MAX_QUEUED_FRAMES = 256;

export function acceptSocket<S>(ctx: DialectContext, socket: WebSocket, opts: SocketOptions<S>): void {
  const early: { data: unknown; binary: boolean }[] = [];
  let conn: Connection<S> | null = null;
  let chain: Promise<void> = Promise.resolve();
  const errorFrame = opts.errorFrame ?? ((message, extra) => ({ type: 'error', message, ...extra }));

  const reply = (c: Connection<S>, message: string, extra: Record<string, unknown> = {}) =>
    c.send(JSON.stringify(errorFrame(message, extra)));
  for (const w of opts.writes) if (!Object.hasOwn(opts.handlers, w)) throw new Error(`writes names a frame with no handler: ${w}`);
  const writes = new Set(opts.writes);

  let refused = 0;
  const handle = async (c: Connection<S>, data: unknown, binary: boolean) => {
    // The peer is gone: its frames not started yet are not run. It sends them again (same
    // local_temp_id) on its next connection, so running them late would only race that retry.
    if (c.closed) return;
    const wait = await ctx.core.rateLimits.frame(c.id);
    if (wait > 0) {
      // Over the per-connection rate: the frame is dropped; a peer that keeps flooding is closed.
      if (++refused > ctx.config.rateLimits.connectionFramesBurst) return c.close(CloseCodes.policyViolation, 'flooding');
      return reply(c, 'Too many messages; slow down', { code: 'rate_limited', retry_after_ms: wait, ...tempIdOf(data) });
    }
    refused = 0;
    if (binary) return reply(c, 'Binary frames are not supported; send JSON text', { code: 'invalid_frame' });
    const frame = parseFrame(String(data));
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
  let paused = false;
  let firstWaiter: ((m: { data: unknown; binary: boolean } | null) => void) | null = null;
  const takeFirst = () =>
    new Promise<Record<string, unknown> | null>((resolve) => {
      const done = (m: { data: unknown; binary: boolean } | null) => {
        clearTimeout(timer);
        firstWaiter = null;
        resolve(m && !m.binary ? parseFrame(String(m.data)) : null);
      };
      const timer = setTimeout(() => done(null), 10_000);
      if (early.length > 0) done(early.shift()!);
      else firstWaiter = done;
    });

  // Shutting down: the client reconnects to another process.
  if (!ctx.hub.accepting) {
    socket.close(CloseCodes.goingAway, 'server shutting down');
    return;
  }

  socket.on('message', (data, binary) => {
    // Shutting down: a frame not taken yet is not taken at all; the client sends it again
    // (same local_temp_id) after reconnecting elsewhere.
    if (!ctx.hub.accepting) return;
    if (!conn) {
      if (firstWaiter) firstWaiter({ data, binary });
      else early.push({ data, binary });
      return;
    }
    const c = conn;
    // One frame at a time per socket, so its sends keep their order. A peer that sends faster
    // than its frames are handled is stopped reading from (TCP pushes back) until it catches up.
    if (++queued >= MAX_QUEUED_FRAMES && !paused) {
      paused = true;
      socket.pause();
    }
    chain = ctx.hub.track(
      chain
        .then(() => handle(c, data, binary))
        .catch(logError)
        .finally(() => {
          if (--queued <= MAX_QUEUED_FRAMES / 4 && paused) {
            paused = false;
            socket.resume();
          }
        }),
    );
  });

  socket.on('error', () => {});

  void (async () => {
    let user: User;
    try {
      user = await opts.authenticate(() => takeFirst());
    } catch (e) {
      const { code, reason } = opts.refuse(e);
      socket.close(code, reason);
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
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
      return;
    }
    conn = c;
    for (const m of early.splice(0)) chain = chain.then(() => handle(c, m.data, m.binary));
  })();
}

function tempIdOf(data: unknown): Record<string, unknown> {
  const frame = parseFrame(String(data));
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
