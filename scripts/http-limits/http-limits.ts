// What an expensive or slow client costs a Parley process, measured from outside: its RSS and
// CPU while clients catch up on a big backlog over REST (GET …/changes), how long a request
// body dribbled byte by byte or stalled holds a connection, and how many connections one
// address can hold. Run against this checkout, or `--root` another one (e.g. main, to print
// the figures before a change beside the ones after).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { cpuSeconds, freePort, rssKb, sleep, startChild, stopChild, waitPort } from '../../bench/lib/proc.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface HttpLimitsOptions {
  /** The checkout whose src/main.ts is started. */
  root: string;
  /** Messages in the backlog, and characters each. */
  messages: number;
  size: number;
  /** Readers catching up at once, each from after_seq=0. */
  clients: number;
  /** How long to watch a dribbled and a stalled body before giving up on them, seconds. */
  bodyWaitS: number;
  /** Connections opened from 127.0.0.1 and held. */
  connections: number;
  /** Settings passed to the server (e.g. HTTP_REQUEST_TIMEOUT_MS for a short run); unset: its defaults. */
  env: Record<string, string>;
  log: (line: string) => void;
}

export const HTTP_LIMITS_DEFAULTS = { messages: 10_000, size: 5000, clients: 4, bodyWaitS: 400, connections: 600 };

export interface CatchUpFigures {
  /** Per reader: requests made (429s included), message frames received, bytes received. */
  requests: number;
  framesPerClient: number[];
  bytes: number;
  /** The largest single answer, bytes. */
  largestResponse: number;
  /** Server RSS just before, and its peak during the catch-ups, MiB. */
  rssBeforeMb: number;
  rssPeakMb: number;
  /** Server CPU seconds and wall seconds of the catch-ups. */
  cpuS: number;
  wallS: number;
  /** Answers 429 (read limit) the readers waited out. */
  throttled: number;
}

export interface BodyFigures {
  /** Seconds until the server closed the connection; null: still open when we gave up. */
  dribbledClosedAfterS: number | null;
  stalledClosedAfterS: number | null;
  waitedS: number;
}

export interface ConnectionFigures {
  opened: number;
  held: number;
  refused: number;
}

export interface HttpLimitsReport {
  options: Omit<HttpLimitsOptions, 'log'>;
  catchUp: CatchUpFigures;
  body: BodyFigures;
  connections: ConnectionFigures;
}

const mb = (kb: number) => kb / 1024;

export async function runHttpLimits(o: HttpLimitsOptions): Promise<HttpLimitsReport> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-http-limits-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: path.join(dir, 'data'),
    DATABASE_URL: `sqlite:${path.join(dir, 'data', 'parley.db')}`,
    JWT_SECRET: 'http-limits-secret-that-is-long-enough',
    LOG_LEVEL: 'warn',
    // Seeding the backlog sends far faster than a person; the reads keep the server's defaults.
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    ...o.env,
  };
  const logFile = path.join(dir, 'parley.log');
  const child = startChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: o.root, env, logFile });
  try {
    await waitPort(port, child, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}:\n${readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`);
    });
    o.log(`parley (${o.root}) on ${url}, pid ${child.pid}`);
    const { tokens, conv } = await seed(url, o);
    o.log(`seeded ${o.messages} messages of ${o.size} characters in conversation ${conv}`);
    const catchUp = await measureCatchUp(url, child.pid!, tokens.slice(0, o.clients), conv, o);
    o.log(`catch-up: ${fmtCatchUp(catchUp)}`);
    const body = await measureBodies(url, o);
    o.log(`bodies: ${fmtBody(body)}`);
    const connections = await measureConnections(url, o.connections);
    o.log(`connections: ${connections.held} of ${connections.opened} held`);
    const { log: _, ...options } = o;
    return { options, catchUp, body, connections };
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function json(url: string, method: string, p: string, body?: unknown, token?: string): Promise<any> {
  const res = await fetch(url + p, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** A group of clients+1 users and a backlog of `messages` messages sent by its owner over one socket. */
async function seed(url: string, o: HttpLimitsOptions): Promise<{ tokens: string[]; conv: number }> {
  const users: { token: string; id: number }[] = [];
  for (let i = 0; i <= o.clients; i++) {
    const r = await json(url, 'POST', '/api/parley/auth/register', { email: `reader${i}-${Date.now()}@example.com`, password: 'correct horse battery', name: `Reader ${i}` });
    users.push({ token: r.token, id: r.user.id });
  }
  const [owner, ...readers] = users;
  const conv = (await json(url, 'POST', '/api/parley/conversations', { kind: 'group', title: 'backlog', member_ids: readers.map((u) => u.id) }, owner.token)).id as number;
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/parley/ws?token=${owner.token}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (d) => {
      if (JSON.parse(d.toString()).type === 'ready') resolve();
    });
  });
  let acked = 0;
  let refused: string | null = null;
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString());
    if (f.type === 'message' && f.message?.local_temp_id) acked++;
    if (f.type === 'error') refused = String(f.message);
  });
  const check = () => {
    if (refused !== null) throw new Error(`seeding: ${refused}`);
  };
  const body = 'x'.repeat(Math.max(0, o.size - 12));
  for (let i = 0; i < o.messages; i++) {
    ws.send(JSON.stringify({ type: 'send', conversation_id: conv, content: `${String(i).padStart(10)} ${body}`, local_temp_id: `s${i}` }));
    // A window of 200 in flight: the socket's frame queue stays short.
    while (i - acked >= 200) {
      check();
      await sleep(5);
    }
  }
  while (acked < o.messages) {
    check();
    await sleep(10);
  }
  ws.close();
  return { tokens: readers.map((u) => u.token), conv };
}

/** One reader following …/changes from the start to the end (a server without pages answers once). */
async function catchUpOne(url: string, token: string, conv: number, into: { requests: number; bytes: number; largest: number; throttled: number }): Promise<number> {
  let query = 'after_seq=0&after_change_seq=0';
  let frames = 0;
  for (;;) {
    const res = await fetch(`${url}/api/parley/conversations/${conv}/changes?${query}`, { headers: { authorization: `Bearer ${token}` } });
    into.requests++;
    if (res.status === 429) {
      into.throttled++;
      await res.arrayBuffer();
      await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      continue;
    }
    const text = await res.text();
    if (res.status !== 200) throw new Error(`…/changes: ${res.status} ${text.slice(0, 200)}`);
    const size = Buffer.byteLength(text);
    into.bytes += size;
    into.largest = Math.max(into.largest, size);
    const page = JSON.parse(text) as { frames: { type: string }[]; has_more?: boolean; next?: { after_seq: number; after_change_seq?: number } };
    frames += page.frames.filter((f) => f.type === 'message').length;
    if (!page.has_more || !page.next) return frames;
    query = `after_seq=${page.next.after_seq}&after_change_seq=${page.next.after_change_seq ?? 0}`;
  }
}

async function measureCatchUp(url: string, pid: number, tokens: string[], conv: number, o: HttpLimitsOptions): Promise<CatchUpFigures> {
  await sleep(1000);
  const rssBefore = rssKb(pid) ?? 0;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKb(pid) ?? 0);
  }, 20);
  const cpu0 = cpuSeconds(pid) ?? 0;
  const t0 = performance.now();
  const into = { requests: 0, bytes: 0, largest: 0, throttled: 0 };
  try {
    const framesPerClient = await Promise.all(tokens.map((t) => catchUpOne(url, t, conv, into)));
    const wallS = (performance.now() - t0) / 1000;
    peak = Math.max(peak, rssKb(pid) ?? 0);
    for (const n of framesPerClient) if (n !== o.messages) throw new Error(`a reader got ${n} of ${o.messages} messages`);
    return {
      requests: into.requests,
      framesPerClient,
      bytes: into.bytes,
      largestResponse: into.largest,
      rssBeforeMb: mb(rssBefore),
      rssPeakMb: mb(peak),
      cpuS: (cpuSeconds(pid) ?? 0) - cpu0,
      wallS,
      throttled: into.throttled,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Seconds until the server closes `socket`, or null after `waitS`. */
function closedWithin(socket: net.Socket, waitS: number): Promise<number | null> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), waitS * 1000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve((performance.now() - t0) / 1000);
    });
  });
}

function rawConnect(url: string): Promise<net.Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1');
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** A body sent one byte a second (never idle for long), and one that stops after its first bytes. */
async function measureBodies(url: string, o: HttpLimitsOptions): Promise<BodyFigures> {
  const head = 'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"email":';
  const dribbler = await rawConnect(url);
  // Read what comes (a 408): a socket nobody reads from never sees the server's FIN.
  dribbler.resume();
  dribbler.write(head);
  const drip = setInterval(() => dribbler.destroyed || dribbler.write(' '), 1000);
  const staller = await rawConnect(url);
  staller.resume();
  staller.write(head);
  const [dribbled, stalled] = await Promise.all([closedWithin(dribbler, o.bodyWaitS), closedWithin(staller, o.bodyWaitS)]);
  clearInterval(drip);
  dribbler.destroy();
  staller.destroy();
  return { dribbledClosedAfterS: dribbled, stalledClosedAfterS: stalled, waitedS: o.bodyWaitS };
}

/** Opens `n` keep-alive connections from 127.0.0.1, each asking /healthz once, and counts those answered. */
async function measureConnections(url: string, n: number): Promise<ConnectionFigures> {
  const sockets: net.Socket[] = [];
  let held = 0;
  try {
    for (let i = 0; i < n; i++) {
      const s = await rawConnect(url).catch(() => null);
      if (!s) continue;
      sockets.push(s);
      const answered = await new Promise<boolean>((resolve) => {
        s.once('data', () => resolve(true));
        s.once('close', () => resolve(false));
        s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      if (answered) held++;
    }
  } finally {
    for (const s of sockets) s.destroy();
  }
  return { opened: n, held, refused: n - held };
}

const fmtCatchUp = (c: CatchUpFigures) =>
  `${c.framesPerClient.length} readers, ${c.requests} requests (${c.throttled} answered 429), ${(c.bytes / 1e6).toFixed(1)} MB received, largest answer ${(c.largestResponse / 1e6).toFixed(2)} MB; ` +
  `server RSS ${c.rssBeforeMb.toFixed(0)} → peak ${c.rssPeakMb.toFixed(0)} MiB (+${(c.rssPeakMb - c.rssBeforeMb).toFixed(0)}), CPU ${c.cpuS.toFixed(2)} s in ${c.wallS.toFixed(2)} s`;

const fmtS = (s: number | null, waited: number) => (s === null ? `still open after ${waited} s` : `closed after ${s.toFixed(1)} s`);
const fmtBody = (b: BodyFigures) => `dribbled body (1 byte/s) ${fmtS(b.dribbledClosedAfterS, b.waitedS)}; stalled body ${fmtS(b.stalledClosedAfterS, b.waitedS)}`;

export function formatHttpLimitsReport(r: HttpLimitsReport): string {
  const o = r.options;
  const settings = Object.entries(o.env).map(([k, v]) => `${k}=${v}`).join(' ') || 'the defaults';
  return [
    `# http limits: ${o.root} with ${settings}`,
    `catch-up of ${o.messages} messages × ${o.size} characters: ${fmtCatchUp(r.catchUp)}`,
    `request bodies: ${fmtBody(r.body)}`,
    `connections from one address: ${r.connections.held} of ${r.connections.opened} held, ${r.connections.refused} refused`,
  ].join('\n');
}
