import WebSocket from 'ws';
import { expect, onTestFinished } from 'vitest';
import type { TestServer } from './parley.js';
import type { BodyOf } from './parley-api.js';
import { sleep } from './sleep.js';

export { sleep };

let counter = 0;

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * fetch against the test server; JSON in, JSON out (or text when it is not JSON). The body's
 * type follows the route (`BodyOf`: /api/parley's wire types); `api<T>(…)` states it instead.
 */
export async function api<T = never, M extends string = string, P extends string = string>(
  server: { url: string },
  method: M,
  path: P,
  opts: { token?: string; json?: unknown; form?: Record<string, string>; multipart?: FormData; headers?: Record<string, string>; raw?: string } = {},
): Promise<ApiResponse<[T] extends [never] ? BodyOf<M, P> : T>> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | FormData | undefined;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.multipart) {
    body = opts.multipart; // fetch sets the multipart content-type and boundary
  } else if (opts.raw !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = opts.raw;
  }
  const res = await fetch(server.url + path, { method, headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export interface TestUser {
  token: string;
  user: { id: number; uuid: string; name: string; email: string; avatar_url: string | null; tenant_id: string };
  password: string;
}

/** What POST /api/auth/register and /login answer (DESIGN.md, Accounts and tokens). */
export interface AuthSession {
  access_token: string;
  token_type: 'bearer';
  user: TestUser['user'];
}

/** The token cookie's name (AUTH_COOKIE's default) and its value in a Set-Cookie header. */
export const TOKEN_COOKIE = 'parley_token';
export const cookieOf = (setCookie: string | null) => new RegExp(`${TOKEN_COOKIE}=([^;]*)`).exec(setCookie ?? '')?.[1];

/** Registers a user with a unique email. */
export async function newUser(server: { url: string }, opts: { name?: string; email?: string; tenantId?: string } = {}): Promise<TestUser> {
  const n = ++counter;
  const password = 'password-' + n;
  const email = opts.email ?? `user${n}-${process.pid}-${Date.now()}@example.com`;
  const res = await api<AuthSession>(server, 'POST', '/api/auth/register', {
    json: { email, password, name: opts.name ?? `User ${n}`, ...(opts.tenantId ? { tenant_id: opts.tenantId } : {}) },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.access_token, user: res.body.user, password };
}

/** A direct room between two users through /api/chat. */
export async function newRoom(server: { url: string }, a: TestUser, b: TestUser): Promise<number> {
  const res = await api<{ id: number }>(server, 'POST', '/api/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
  if (res.status !== 200) throw new Error(`room failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export interface Frame {
  type: string;
  [k: string]: any;
}

/**
 * A real WebSocket client that records every frame, closed at the end of the test that
 * opened it. `next(type)` resolves with the next frame of that type not yet taken by an
 * earlier `next`; `closed` resolves with the close code.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  #taken = new Set<Frame>();
  #waiters: { type: string | null; pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    // A socket opened in a test is closed when that test ends (passed or failed); one opened
    // in a beforeAll is its suite's to close.
    try {
      onTestFinished(() => ws.close());
    } catch {
      /* not inside a test */
    }
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      let f: Frame;
      try {
        f = JSON.parse(data.toString());
      } catch {
        f = { type: '<non-json>', raw: data.toString() };
      }
      this.frames.push(f);
      const w = this.#waiters.find((x) => (x.type === null || x.type === f.type) && x.pred(f));
      if (w) {
        this.#taken.add(f);
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(f);
      }
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame of `type` (null: any type) matching `pred`, waiting up to timeoutMs. */
  next(type: string | null, opts: { timeoutMs?: number; where?: (f: Frame) => boolean } = {}): Promise<Frame> {
    const pred = opts.where ?? (() => true);
    const hit = this.frames.find((f) => !this.#taken.has(f) && (type === null || f.type === type) && pred(f));
    if (hit) {
      this.#taken.add(hit);
      return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const w = { type, pred, resolve: (f: Frame) => (clearTimeout(timer), resolve(f)) };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no ${type ?? 'frame'} within ${opts.timeoutMs ?? 3000} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`));
      }, opts.timeoutMs ?? 3000);
      this.#waiters.push(w);
    });
  }

  /** Frames received and not yet taken by `next` (of `type`, when given). */
  untaken(type?: string): Frame[] {
    return this.frames.filter((f) => !this.#taken.has(f) && (type === undefined || f.type === type));
  }

  /** Frames of `type` received so far. */
  all(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens a socket and waits until it is open (rejects on an HTTP refusal). */
export async function openSocket(url: string, opts: { headers?: Record<string, string> } = {}): Promise<TestSocket> {
  const s = new TestSocket(new WebSocket(url, { headers: opts.headers }));
  await s.opened;
  return s;
}

/**
 * Opens a room socket (`/api/chat/ws`, or 002's under `prefix: '/api/v1/chat'`) for a user,
 * optionally in a room; waits until the server has registered it.
 */
export async function chatSocket(server: TestServer, user: TestUser, roomId?: number, extra = '', prefix = '/api/chat'): Promise<TestSocket> {
  const q = `token=${encodeURIComponent(user.token)}${roomId ? `&room_id=${roomId}` : ''}${extra}`;
  const s = await openSocket(`${server.wsUrl}${prefix}/ws?${q}`);
  // A ping answered means authentication and the room join have finished.
  s.send({ type: 'ping' });
  await s.next('pong');
  return s;
}

/** A socket of Parley's own API (/api/parley/ws) following all of the user's conversations. */
export async function parleySocket(server: TestServer, user: TestUser): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(user.token)}`);
  await s.next('ready');
  s.send({ type: 'subscribe' });
  await s.next('subscribed');
  return s;
}

/** Two fresh users and their direct /api/chat room. */
export async function pair(server: { url: string }): Promise<{ a: TestUser; b: TestUser; room: number }> {
  const [a, b] = await Promise.all([newUser(server), newUser(server)]);
  return { a, b, room: await newRoom(server, a, b) };
}

/** Two fresh users, their direct /api/chat room, and a socket each in it (a's opened first). */
export async function connectedPair(server: TestServer): Promise<{ a: TestUser; b: TestUser; room: number; sa: TestSocket; sb: TestSocket }> {
  const { a, b, room } = await pair(server);
  const sa = await chatSocket(server, a, room);
  const sb = await chatSocket(server, b, room);
  return { a, b, room, sa, sb };
}

/** Retries `fn` until it stops throwing, or throws its last error after timeoutMs. */
export async function eventually<T>(fn: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const until = Date.now() + (opts.timeoutMs ?? 3000);
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
    }
  }
}

/** A room's REST history page as 000/001/002 show it. */
export interface RoomHistoryPage {
  total: number;
  has_more: boolean;
  messages: any[];
}

/**
 * Every message of a room through REST history (all pages, 100 a page) in the order the
 * pages give them (newest first), with the `total` the first page reported. `prefix` is
 * `/api/chat` or 002's `/api/v1/chat`.
 */
export async function roomHistory(server: { url: string }, user: TestUser, roomId: number, prefix = '/api/chat'): Promise<{ total: number; messages: any[] }> {
  const messages: any[] = [];
  let total = 0;
  for (let page = 1; ; page++) {
    const res = await api<RoomHistoryPage>(server, 'GET', `${prefix}/rooms/${roomId}/messages?page=${page}&per_page=100`, { token: user.token });
    if (res.status !== 200) throw new Error(`history failed: ${res.status} ${JSON.stringify(res.body)}`);
    if (page === 1) total = res.body.total;
    messages.push(...res.body.messages);
    if (!res.body.has_more) break;
  }
  return { total, messages };
}

/** Every message of an /api/chat room through REST history, oldest first, with its total. */
export async function chatHistory(server: { url: string }, user: TestUser, roomId: number): Promise<{ total: number; messages: any[] }> {
  const { total, messages } = await roomHistory(server, user, roomId);
  return { total, messages: messages.sort((x, y) => x.seq - y.seq) };
}

/** The next error frame: `{"type":"error","message": string, ...}`, its message checked. */
export async function nextError(sock: TestSocket, match?: string | RegExp): Promise<Frame> {
  const f = await sock.next('error');
  expect(f.message).toBeTypeOf('string');
  expect(f.message.length).toBeGreaterThan(0);
  if (typeof match === 'string') expect(f.message).toBe(match);
  else if (match) expect(f.message).toMatch(match);
  return f;
}


/**
 * Proves the server has handled everything this socket sent before (a ping answered), then
 * waits a short bounded time so anything wrongly in flight would have arrived.
 */
export async function settle(sock: TestSocket, ms = 150): Promise<void> {
  sock.send({ type: 'ping' });
  await sock.next('pong');
  await sleep(ms);
}

/**
 * Asserts that no frame of `type` (any type but pong, without one) matching `where` is
 * waiting on the socket after a quiet period of `ms`: none arrived meanwhile, and none that
 * arrived before was left untaken by `next`. The check of a test whose point is that an
 * event is *not* delivered; send something that is, after it, to prove the socket was live.
 */
export async function expectNoFrame(sock: TestSocket, ms: number, opts: { type?: string; where?: (f: Frame) => boolean } = {}): Promise<void> {
  await sleep(ms);
  const unwanted = sock.untaken(opts.type).filter((f) => (opts.type !== undefined || f.type !== 'pong') && (opts.where?.(f) ?? true));
  expect(unwanted, `frames that should not have arrived (${opts.type ?? 'any type'})`).toEqual([]);
}

/** One device's view of a room: each seq's content and change_seq as its sockets showed them. */
export class RoomView {
  readonly bySeq = new Map<number, { content: string | null; changeSeq: number }>();
  #seen = new WeakSet<Frame>();
  maxSeq = 0;
  maxChangeSeq = 0;

  /** Starts from a history page (messages with seq, content, change_seq). */
  start(messages: readonly { seq: number; content: string | null; change_seq: number }[]): void {
    for (const m of messages) {
      this.bySeq.set(m.seq, { content: m.content, changeSeq: m.change_seq });
      this.maxSeq = Math.max(this.maxSeq, m.seq);
      this.maxChangeSeq = Math.max(this.maxChangeSeq, m.change_seq);
    }
  }

  /** Each seq's content as shown. */
  contents(): Map<number, string | null> {
    return new Map([...this.bySeq].map(([seq, v]) => [seq, v.content]));
  }

  /** Takes the /api/chat message frames of `s` not taken yet. */
  take(s: TestSocket): void {
    for (const f of s.frames) {
      if (this.#seen.has(f) || (f.type !== 'new_message' && f.type !== 'message_update')) continue;
      this.#seen.add(f);
      const d = f.data;
      const had = this.bySeq.get(d.seq);
      if (!had || had.changeSeq <= d.change_seq) this.bySeq.set(d.seq, { content: d.content ?? null, changeSeq: d.change_seq });
      this.maxSeq = Math.max(this.maxSeq, d.seq);
      this.maxChangeSeq = Math.max(this.maxChangeSeq, d.change_seq);
    }
  }
}
