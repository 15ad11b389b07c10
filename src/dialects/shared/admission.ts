import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { DialectContext } from '../dialect.js';
import { DomainError } from '../../core/errors.js';
import { admitOrigin } from '../../http/origins.js';
import { errorText } from './texts.js';
import { handshakeUser, tenantOriginRule, type Handshake } from './auth.js';
import { CloseCodes, type Connection } from '../../delivery/connection.js';

// Socket admission (issue 14 item 6). Before it, an anonymous socket could send 80 MiB frames
// that were buffered, queued and JSON.parsed before any token was checked, and a refused
// socket sat in ws's 30 s closing handshake with what it had sent. Now:
//   - a token present at the handshake is verified before the upgrade (socketHandshake), so
//     a socket's first frame is read knowing who sent it;
//   - a socket nobody has authenticated yet reads frames of 16 KiB at most (the server's
//     default maxPayload), and at most WS_MAX_UNAUTHENTICATED_PER_ADDRESS of them per address
//     exist at once;
//   - a refused socket gets its documented close code and is cut REFUSED_LINGER_MS later,
//     answered or not;
//   - an authenticated socket's limit is raised to what its document needs (setFrameLimit),
//     and frames over WS_MAX_FRAME_BYTES (base64 files) take turns (BigFrameGate).

/** How long a refused socket's peer has to answer the close frame before its connection is cut. */
export const REFUSED_LINGER_MS = 500;

/** `{"detail"}` of an upgrade refused because its address has too many unauthenticated sockets. */
export const TOO_MANY_UNAUTHENTICATED = 'Too many unauthenticated connections from this address';

/** Sockets not yet authenticated, per client address. */
export class AddressCounter {
  readonly #counts = new Map<string, number>();
  constructor(readonly max: number) {}

  /** Whether one more fits under the cap (0: no cap). */
  hasRoom(address: string): boolean {
    return this.max === 0 || (this.#counts.get(address) ?? 0) < this.max;
  }

  /** Counts one more unless the address is at the cap. */
  add(address: string): boolean {
    if (!this.hasRoom(address)) return false;
    this.#counts.set(address, (this.#counts.get(address) ?? 0) + 1);
    return true;
  }

  remove(address: string): void {
    const n = (this.#counts.get(address) ?? 0) - 1;
    if (n > 0) this.#counts.set(address, n);
    else this.#counts.delete(address);
  }

  count(address: string): number {
    return this.#counts.get(address) ?? 0;
  }
}

/** Gives back a turn; calling it again does nothing. */
export type Release = () => void;

/** A turn asked for: `turn` resolves when it is given (at once if `ready`); `cancel` gives it back, or leaves the queue. */
export interface Turn {
  readonly turn: Promise<Release>;
  readonly ready: boolean;
  cancel(): void;
}

/**
 * Turns for frames over WS_MAX_FRAME_BYTES, per process: a socket holds one from the moment
 * such a frame starts to arrive until its files are decoded and stored. Sockets waiting for a
 * turn are not read (TCP holds their bytes back), so N senders of big frames cost the memory
 * of `slots` frames, not of N. First come, first served.
 */
export class BigFrameGate {
  #free: number;
  readonly #waiting: ((release: Release) => void)[] = [];
  constructor(readonly slots: number) {
    this.#free = slots;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  take(): Turn {
    if (this.#free > 0) {
      this.#free--;
      const release = this.#release();
      return { turn: Promise.resolve(release), ready: true, cancel: release };
    }
    let cancelled = false;
    let given: Release | null = null;
    let waiter!: (release: Release) => void;
    const turn = new Promise<Release>((resolve) => {
      waiter = (release) => {
        given = release;
        if (cancelled) release();
        else resolve(release);
      };
    });
    this.#waiting.push(waiter);
    return {
      turn,
      ready: false,
      cancel: () => {
        cancelled = true;
        if (given) return given();
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
      },
    };
  }

  #release(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      if (next) next(this.#release());
      else this.#free++;
    };
  }
}

/** The least a turned-away resume is told to wait (ms). */
export const MIN_RETRY_MS = 100;
/** What a resume is taken to last before one has finished (ms). */
const FIRST_RESUME_MS = 50;

/** The reason of a 1013 close: the client waits `ms` before it reconnects (the SDK reads it). */
export const retryReason = (ms: number) => `try again later: retry_after_ms=${ms}`;

/** A resume given a turn (at once, or when one is free: `release` it when its replay is done), or turned away with how long to wait. */
export type ResumeTicket = { turn: Promise<Release> } | { retryAfterMs: number };

/**
 * Resumes (a socket's replay from its cursors) at most `cap` at once per process (0: no cap),
 * and at most `queue` more waiting for a turn, first come first served. One more is turned away
 * with a retry hint: a storm of reconnects costs `cap` replays at a time, each at the pace of
 * `cap` and not of all, and a client that would wait long is told to come back instead of
 * holding a socket open. Waiting in the queue costs nothing but the frame; a client turned
 * away costs a new connection (handshake, token check), so the queue takes most of a storm.
 * The hints extend the queue virtually: each one turned away is given the moment its turn
 * should come at the rate resumes finish (cap ÷ their smoothed duration), jittered by ±25% so
 * that the clients told the same moment do not all come back in it.
 */
export class ResumeGate {
  #running = 0;
  readonly #waiting: ((release: Release) => void)[] = [];
  /** When everyone turned away so far should have had their turn (ms since the epoch). */
  #horizon = 0;
  /** A resume's duration, smoothed (ms). */
  #durationMs = FIRST_RESUME_MS;
  constructor(
    readonly cap: number,
    readonly queue: number,
    readonly random: () => number = Math.random,
    readonly now: () => number = Date.now,
  ) {}

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  take(): ResumeTicket {
    const now = this.now();
    if (this.cap === 0 || this.#running < this.cap) {
      this.#running++;
      return { turn: Promise.resolve(this.#release(now)) };
    }
    if (this.#waiting.length < this.queue) return { turn: new Promise<Release>((resolve) => this.#waiting.push(resolve)) };
    const perTurn = this.#durationMs / this.cap;
    this.#horizon = Math.max(this.#horizon, now + this.#waiting.length * perTurn) + perTurn;
    // The floor is taken before the jitter: clients turned away while resumes are quick would
    // otherwise all be told MIN_RETRY_MS and all come back in the same moment.
    const base = Math.max(MIN_RETRY_MS / 0.75, this.#horizon - now);
    return { retryAfterMs: Math.max(MIN_RETRY_MS, Math.round(base * (0.75 + 0.5 * this.random()))) };
  }

  /** The release of a turn taken at `since`: gives it to the next in line, or frees it. */
  #release(since: number): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const now = this.now();
      this.#durationMs = 0.9 * this.#durationMs + 0.1 * Math.max(1, now - since);
      const next = this.#waiting.shift();
      if (next) next(this.#release(now));
      else this.#running--;
    };
  }
}

/** The admission state of one server (one per DialectContext: tests run several in a process). */
export interface Admission {
  unauthenticated: AddressCounter;
  bigFrames: BigFrameGate;
  resumes: ResumeGate;
}

const admissions = new WeakMap<DialectContext, Admission>();

export function admissionOf(ctx: DialectContext): Admission {
  let a = admissions.get(ctx);
  if (!a) {
    a = {
      unauthenticated: new AddressCounter(ctx.config.wsMaxUnauthenticatedPerAddress),
      bigFrames: new BigFrameGate(ctx.config.wsBigFramesAtOnce),
      resumes: new ResumeGate(ctx.config.resumeConcurrency, ctx.config.resumeQueue),
    };
    admissions.set(ctx, a);
  }
  return a;
}

const verdicts = new WeakMap<FastifyRequest, Handshake>();

/** The verdict socketHandshake reached for this upgrade request. */
export function handshakeOf(request: FastifyRequest): Handshake | undefined {
  return verdicts.get(request);
}

/**
 * The preValidation hook of every socket route: verifies the handshake's token before the
 * upgrade, and refuses with 429 an upgrade that would be one unauthenticated socket too many
 * for its address. `refuseUpgrade` answers a refused token over HTTP instead of upgrading
 * (document 004: 401/403); without it the socket is upgraded, then closed with its document's
 * code (002's 4001/4000).
 */
export function socketHandshake(
  ctx: DialectContext,
  opts: { firstFrame: boolean; apiKeys?: boolean; refuseUpgrade?: (error: unknown, reply: FastifyReply) => FastifyReply },
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    // A plain GET of a socket path is answered 404 by @fastify/websocket; nothing to verify.
    if (!request.ws) return undefined;
    const verdict = await handshakeUser(ctx.core, ctx.config, request, opts.firstFrame, opts.apiKeys);
    if (verdict.kind === 'refused' && opts.refuseUpgrade) return opts.refuseUpgrade(verdict.error, reply);
    // The page's origin by its user's tenant (http/origins.ts); a socket whose user comes with
    // its first frame is let in on any tenant's list, and its own tenant's rule applied then.
    const origin = request.headers.origin;
    if (verdict.kind === 'user') {
      if (!(await tenantOriginRule(ctx.core, ctx.config, request, verdict.user.tenantId)).allowed) {
        return reply.code(403).send({ detail: errorText(new DomainError('origin_not_allowed')) });
      }
      admitOrigin(request.raw);
    } else if (origin !== undefined && (await ctx.core.accounts.originListed(origin))) admitOrigin(request.raw);
    if (verdict.kind !== 'user' && !admissionOf(ctx).unauthenticated.hasRoom(request.ip)) {
      return reply.code(429).send({ detail: TOO_MANY_UNAUTHENTICATED });
    }
    verdicts.set(request, verdict);
    return undefined;
  };
}

/** The parts of a `ws` socket's private state that hold its frame limit (ws 8: Receiver and PerMessageDeflate). */
interface LimitInternals {
  _receiver?: { _maxPayload?: unknown };
  _extensions?: Record<string, { _maxPayload?: unknown } | undefined>;
}

let warnedLimit = false;

/**
 * Sets the largest frame this one socket may send from now on. `ws` has one maxPayload per
 * server, checked by each socket's Receiver (and, with compression, its PerMessageDeflate)
 * against its own copy, `_maxPayload`: per socket, that copy is the only handle. Returns false,
 * and warns once, if this `ws` has no such field: the socket keeps the server's limit, the
 * unauthenticated one, so nothing opens up (test/delivery/frame-limits.test.ts fails then).
 */
export function setFrameLimit(ws: WebSocket, bytes: number): boolean {
  const internals = ws as unknown as LimitInternals;
  const receiver = internals._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') {
    if (!warnedLimit) {
      warnedLimit = true;
      console.warn('parley: this version of ws has no Receiver._maxPayload; sockets keep the unauthenticated frame limit');
    }
    return false;
  }
  receiver._maxPayload = bytes;
  const deflate = internals._extensions?.['permessage-deflate'];
  if (deflate && typeof deflate._maxPayload === 'number') deflate._maxPayload = bytes;
  return true;
}

/** The largest frame this socket accepts now (null if unknown). */
export function frameLimitOf(ws: WebSocket): number | null {
  const m = (ws as unknown as LimitInternals)._receiver?._maxPayload;
  return typeof m === 'number' ? m : null;
}

/**
 * Cuts the connection REFUSED_LINGER_MS from now unless the peer has closed it by then: ws
 * would wait 30 s for the answer to its close frame, holding the socket (and, before
 * admission, whatever it had read) for a peer that may never answer.
 */
export function terminateSoon(ws: WebSocket): void {
  setTimeout(() => ws.terminate(), REFUSED_LINGER_MS).unref();
}

/**
 * Closes with a documented code and reason, reads nothing more of substance (a data frame
 * past this point fails ws's limit and is discarded unread), and cuts the connection soon.
 */
export function closeAndTerminate(ws: WebSocket, code: number, reason: string): void {
  // 125 bytes: what a control frame may carry, so the peer's answer to the close still parses.
  setFrameLimit(ws, 125);
  try {
    ws.close(code, reason);
  } catch {
    /* already gone */
  }
  terminateSoon(ws);
}

/**
 * Runs a socket's resume in a turn of the process's ResumeGate (waiting in its queue for one);
 * with the queue full, closes the socket with 1013 and a retry hint instead (the client
 * reconnects after it) and resolves false.
 */
export async function inResumeTurn(ctx: DialectContext, conn: Connection<any>, resume: () => Promise<void>): Promise<boolean> {
  const ticket = admissionOf(ctx).resumes.take();
  if (!('turn' in ticket)) {
    conn.close(CloseCodes.tryAgainLater, retryReason(ticket.retryAfterMs));
    return false;
  }
  const release = await ticket.turn;
  try {
    // Closed while it waited: the turn goes to the next at once.
    if (conn.closed) return false;
    await resume();
  } finally {
    release();
  }
  return true;
}
