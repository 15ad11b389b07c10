// What big WebSocket frames cost the server: its peak RSS, the memory it still holds a few
// seconds later, and the event-loop stall another client sees (its ping → pong time), while
//   (a) anonymous sockets each send one huge frame and never answer a close (an attacker
//       with raw TCP: no token, or a first-frame-auth socket whose first frame is the frame);
//   (b) authenticated sockets each send one frame of about `authFrameMb` MB carrying a file
//       too large for any document (refused, but only after reading it);
//   (c) authenticated sockets each send a `fileMb` MiB file as 001's files_data (accepted);
//   (d) authenticated sockets each send a `textMb` MB frame that carries no file (only files
//       may make a frame bigger than WS_MAX_FRAME_BYTES).
// One Parley process (tsx, SQLite, its own temp DATA_DIR) from `parleyDir`, so the same
// script measures an older checkout for the "before" figures. Used by `npm run stall:frames`
// (scripts/stall/big-frames.ts) and, at small scale, by test/hardening/big-frames.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort, killAllChildrenNow, peakRssKb, rssKb, sleep, startChild, stopChild, waitForQuiet, waitPort } from '../../bench/lib/proc.js';

export interface BigFramesOptions {
  /** The checkout whose src/main.ts is started (default: this one). */
  parleyDir: string;
  /** Anonymous sockets of phase (a); half on /api/chat/ws without a token, half on 003's /ws/chat/{tenant}/. */
  anon: number;
  /** Size of each anonymous frame, MiB. */
  anonMb: number;
  /** Authenticated sockets of phases (b) and (c). */
  auth: number;
  /** Size of each frame of phase (b), MB (10^6 bytes): base64 of a file over every limit. */
  authFrameMb: number;
  /** Size of the file of phase (c), MiB (≤ 50: the documents' limit). */
  fileMb: number;
  /** Size of each frame of phase (d), MB. */
  textMb: number;
  /** How long after a phase's frames were sent its memory is read again, seconds. */
  holdS: number;
  /** How long a phase waits for its answers at most, seconds. */
  phaseTimeoutS: number;
  /** Extra environment for the server (settings under test). */
  env: Record<string, string>;
  /** Phases to run (default all). */
  phases: readonly Phase[];
  keep: boolean;
  /** Before each phase, wait up to this many seconds for the machine to be quiet (0: do not). */
  waitQuietS?: number;
  /** Write a V8 CPU profile of each server here (node --cpu-prof; bench/profile-summary.ts reads it). */
  profileDir?: string;
  log: (line: string) => void;
}

export type Phase = 'anon' | 'auth-big' | 'auth-file' | 'auth-text';

export const BIG_FRAMES_DEFAULTS = {
  anon: 4,
  anonMb: 80,
  auth: 2,
  authFrameMb: 78,
  fileMb: 50,
  textMb: 78,
  holdS: 5,
  phaseTimeoutS: 120,
} as const;

export interface SocketOutcome {
  /** What the server answered: `close 1009`, `http 429`, `new_message`, `error file_too_large`, `tcp closed`, `no answer`… */
  answer: string;
  /** Milliseconds from the start of sending to that answer. */
  answerMs: number | null;
  /** Milliseconds from the start of sending until the server closed the TCP connection (null: still open at the end). */
  tcpClosedMs: number | null;
}

export interface PhaseReport {
  phase: Phase;
  title: string;
  sockets: SocketOutcome[];
  baseRssMb: number;
  peakRssMb: number;
  /** RSS `holdS` seconds after the frames began to be sent. */
  heldRssMb: number;
  /** Longest ping → pong of the probe client during the phase, ms. */
  stallMs: number;
  /** 99th percentile of the probe's ping → pong, ms. */
  p99Ms: number;
  pings: number;
  wallMs: number;
  holdS: number;
}

export interface BigFramesReport {
  parleyDir: string;
  node: string;
  phases: PhaseReport[];
}

const MiB = 1024 * 1024;
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A PDF of `size` bytes: a real header and trailer around spaces (valid to the validator, cheap to make). */
function pdfOf(size: number): Buffer {
  const head = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Length 0 >>\nstream\n', 'latin1');
  const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n', 'latin1');
  const b = Buffer.alloc(size, 0x20);
  head.copy(b, 0);
  tail.copy(b, size - tail.length);
  return b;
}

/** The header of one masked client text frame (mask key 0: the payload goes out as is). */
function frameHeader(length: number): Buffer {
  const h = Buffer.alloc(14);
  h[0] = 0x81;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h; // bytes 10..13: the zero mask key
}

/** An `authenticate` frame's payload of `bytes` whose token is the padding. */
export function anonymousPayload(bytes: number): Buffer {
  const prefix = Buffer.from('{"type":"authenticate","token":"');
  const suffix = Buffer.from('"}');
  const payload = Buffer.alloc(bytes, 0x61);
  prefix.copy(payload, 0);
  suffix.copy(payload, bytes - suffix.length);
  return payload;
}

/**
 * An attacker's socket: a raw TCP upgrade, one frame (`payload`, made beforehand), and nothing
 * more: it never answers a close frame, and stops reading once it has seen one.
 */
export function anonymousSocket(port: number, urlPath: string, payload: Buffer, timeoutMs: number): Promise<SocketOutcome> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let t0 = 0;
    let head = Buffer.alloc(0);
    let upgraded = false;
    const out: SocketOutcome = { answer: 'no answer', answerMs: null, tcpClosedMs: null };
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('error', () => {});
    s.on('close', () => {
      if (out.tcpClosedMs === null) out.tcpClosedMs = performance.now() - t0;
      if (out.answerMs === null) {
        out.answer = 'tcp closed';
        out.answerMs = out.tcpClosedMs;
      }
      finish();
    });
    s.on('connect', () => {
      t0 = performance.now();
      s.write(
        `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    s.on('data', (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (!upgraded) {
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        head = head.subarray(end + 4);
        if (status !== 101) {
          out.answer = `http ${status}`;
          out.answerMs = performance.now() - t0;
          return finish();
        }
        upgraded = true;
        s.write(frameHeader(payload.length));
        s.write(payload);
      }
      // The server's frames are unmasked; the first close frame names the code.
      if (out.answerMs === null && head.length >= 4 && (head[0] & 0x0f) === 0x08) {
        out.answer = `close ${head.readUInt16BE(2)}`;
        out.answerMs = performance.now() - t0;
      }
      // Never answered, never read further: the server decides when this socket is gone.
      if (out.answerMs !== null) s.pause();
    });
  });
}

/** Samples the server's RSS while `work` runs; the peak is the larger of the samples and VmHWM. */
async function measured<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; baseKb: number; peakKb: number; ms: number }> {
  const baseKb = rssKb(pid) ?? 0;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM := VmRSS
  } catch {
    /* not permitted: the samples still count */
  }
  let peak = baseKb;
  const timer = setInterval(() => {
    const r = rssKb(pid);
    if (r !== null && r > peak) peak = r;
  }, 10);
  const t0 = performance.now();
  try {
    const result = await work();
    return { result, baseKb, peakKb: Math.max(peak, peakRssKb(pid) ?? 0), ms: performance.now() - t0 };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Another user's socket pinging every 20 ms, from a process of its own (scripts/stall/probe.ts):
 * the longest ping → pong is the stall it saw.
 */
class Probe {
  #child: ChildProcess;
  #times: number[] = [];
  #stopped: (() => void) | null = null;
  readonly ready: Promise<void>;
  constructor(url: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'probe.ts'), url], { cwd: path.join(HERE, '../..'), stdio: ['pipe', 'pipe', 'inherit'] });
    let opened!: () => void;
    this.ready = new Promise((r) => (opened = r));
    readline.createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      if (line === 'open') opened();
      else if (line === 'stopped') this.#stopped?.();
      else this.#times.push(Number(line));
    });
  }
  start(): void {
    this.#times = [];
    this.#child.stdin!.write('start\n');
  }
  async stop(): Promise<{ maxMs: number; p99Ms: number; n: number }> {
    await new Promise<void>((resolve) => {
      this.#stopped = resolve;
      this.#child.stdin!.write('stop\n');
    });
    const times = [...this.#times].sort((a, b) => a - b);
    return { maxMs: times.at(-1) ?? 0, p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0, n: times.length };
  }
  close(): void {
    this.#child.kill();
  }
}

function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * MiB });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** Sends one frame and waits for its answer: the sender's new_message, an error frame or a close. */
function sendBig(ws: WebSocket, frame: string, tempId: string, timeoutMs: number): Promise<SocketOutcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out: SocketOutcome = { answer: 'no answer', answerMs: null, tcpClosedMs: null };
    const done = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(out);
    };
    const timer = setTimeout(done, timeoutMs);
    const onMessage = (d: WebSocket.RawData) => {
      const f = JSON.parse(d.toString()) as { type: string; code?: string; local_temp_id?: unknown; data?: { local_temp_id?: unknown } };
      if (f.type === 'new_message' && f.data?.local_temp_id === tempId) out.answer = 'new_message';
      else if (f.type === 'error') out.answer = `error ${f.code ?? ''}`.trim();
      else return;
      out.answerMs = performance.now() - t0;
      done();
    };
    ws.on('message', onMessage);
    ws.once('close', (code) => {
      out.tcpClosedMs = performance.now() - t0;
      if (out.answerMs === null) {
        out.answer = `close ${code}`;
        out.answerMs = out.tcpClosedMs;
      }
      done();
    });
    ws.send(frame);
  });
}

/** Runs each phase against a fresh server (so one phase's memory is not the next one's baseline). */
export async function runBigFrames(opts: BigFramesOptions): Promise<BigFramesReport> {
  const phases: PhaseReport[] = [];
  for (const phase of opts.phases) phases.push(await runPhase(opts, phase));
  return { parleyDir: opts.parleyDir, node: process.version, phases };
}

async function runPhase(opts: BigFramesOptions, phase: Phase): Promise<PhaseReport> {
  const { log } = opts;
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-big-frames-'));
  const port = await freePort();
  const profile = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  // The young generation at Node 20's size (16 MB a semi-space) on every Node: later V8s size
  // it by the heap, and the growth figures would count garbage not yet collected (Node 24:
  // +137 MB against Node 20's +86 MB for the same 8 × 12 MB frames).
  const child = startChild(process.execPath, [...profile, '--max-semi-space-size=16', '--import', 'tsx', 'src/main.ts'], {
    cwd: opts.parleyDir,
    env: {
      ...process.env,
      DATA_DIR: path.join(dir, 'data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'big-frames-secret-big-frames-secret-0123',
      DATABASE_URL: '',
      REDIS_URL: '',
      REGISTRATION: 'open',
      // The probe pings 50 times a second; the limits under test are not rate limits.
      RATE_CONNECTION_FRAMES_PER_SECOND: '0',
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      ...opts.env,
    },
    logFile: path.join(dir, 'parley.log'),
  });
  const sockets: WebSocket[] = [];
  let probe: Probe | null = null;
  try {
    await waitPort(port, child, 90_000);
    const pid = child.pid!;
    const url = `http://127.0.0.1:${port}`;
    const wsUrl = `ws://127.0.0.1:${port}`;
    const post = async (p: string, body: unknown, token?: string) => {
      const res = await fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<{ access_token: string; user: { id: number; tenant_id: string }; id: number }>;
    };
    const users: { access_token: string; user: { id: number; tenant_id: string }; id: number }[] = [];
    for (let i = 0; i <= opts.auth + 1; i++) users.push(await post('/api/auth/register', { email: `big${i}-${Date.now()}@example.com`, password: 'password-123', name: `Big ${i}` }));
    const [probeUser, peer, ...senders] = users;
    const rooms: number[] = [];
    for (const s of senders) rooms.push((await post('/api/chat/rooms', { receiver_id: peer.user.id }, s.access_token)).id);
    const pr = new Probe(`${wsUrl}/api/chat/ws?token=${probeUser.access_token}`);
    probe = pr;
    await pr.ready;
    const tenant = probeUser.user.tenant_id;

    // Warm-up: both socket paths and the file path loaded before anything is measured.
    {
      const ws = await openWs(`${wsUrl}/api/chat/ws?token=${senders[0].access_token}&room_id=${rooms[0]}`);
      const warm = JSON.stringify({ type: 'send_message', data: { room_id: rooms[0], message_type: 'file', local_temp_id: 'warm', files_data: [{ file_data: pdfOf(256 * 1024).toString('base64'), file_name: 'warm.pdf', mime_type: 'application/pdf' }] } });
      const r = await sendBig(ws, warm, 'warm', 30_000);
      if (r.answer !== 'new_message') throw new Error(`warm-up send: ${r.answer}`);
      ws.close();
      await anonymousSocket(port, `/ws/chat/${tenant}/`, anonymousPayload(64), 2_000);
      pr.start();
      await sleep(300);
      await pr.stop();
    }

    const run = async (title: string, work: () => Promise<SocketOutcome[]>): Promise<PhaseReport> => {
      await sleep(500);
      if (opts.waitQuietS) await waitForQuiet(opts.waitQuietS, 0.3, log);
      log(`${title}…`);
      pr.start();
      const heldKb = sleep(opts.holdS * 1000).then(() => rssKb(pid) ?? 0);
      const m = await measured(pid, work);
      const p = await pr.stop();
      const held = await heldKb;
      const report: PhaseReport = {
        phase,
        title,
        sockets: m.result,
        baseRssMb: m.baseKb / 1024,
        peakRssMb: m.peakKb / 1024,
        heldRssMb: held / 1024,
        stallMs: p.maxMs,
        p99Ms: p.p99Ms,
        pings: p.n,
        wallMs: m.ms,
        holdS: opts.holdS,
      };
      log(formatPhase(report));
      return report;
    };
    const holdThen = async <T>(work: Promise<T>): Promise<T> => {
      const [r] = await Promise.all([work, sleep(opts.holdS * 1000)]);
      return r;
    };

    if (phase === 'anon') {
      const paths = Array.from({ length: opts.anon }, (_, i) => (i % 2 === 0 ? '/api/chat/ws' : `/ws/chat/${tenant}/`));
      // One payload for all (masked with a zero key, it goes out as is), made before the clock starts.
      const payload = anonymousPayload(Math.round(opts.anonMb * MiB));
      return await run(`(a) ${opts.anon} anonymous sockets × ${opts.anonMb} MiB frame, never answering a close`, () =>
        holdThen(Promise.all(paths.map((p) => anonymousSocket(port, p, payload, opts.phaseTimeoutS * 1000)))),
      );
    }

    const wss = await Promise.all(senders.map((s, i) => openWs(`${wsUrl}/api/chat/ws?token=${s.access_token}&room_id=${rooms[i]}`)));
    sockets.push(...wss);
    const fileFrame = (room: number, tempId: string, b64: string) =>
      JSON.stringify({ type: 'send_message', data: { room_id: room, message_type: 'file', local_temp_id: tempId, files_data: [{ file_data: b64, file_name: 'big.pdf', mime_type: 'application/pdf' }] } });
    // Frames are built before the clock starts: the client's cost is not the server's.
    let frames: string[];
    let title: string;
    if (phase === 'auth-big') {
      // base64 of ⌊frame · 3/4⌋ bytes: a frame of the given size, a file over every document's limit.
      const b64 = pdfOf(Math.floor((opts.authFrameMb * 1e6 * 3) / 4)).toString('base64');
      frames = wss.map((_, i) => fileFrame(rooms[i], `${phase}-${i}`, b64));
      title = `(b) ${opts.auth} authenticated sockets × ${opts.authFrameMb} MB frame (a ${((opts.authFrameMb * 0.75 * 1e6) / MiB).toFixed(1)} MiB file)`;
    } else if (phase === 'auth-text') {
      const content = 'x'.repeat(Math.round(opts.textMb * 1e6));
      frames = wss.map((_, i) => JSON.stringify({ type: 'send_message', data: { room_id: rooms[i], local_temp_id: `${phase}-${i}`, content } }));
      title = `(d) ${opts.auth} authenticated sockets × ${opts.textMb} MB frame of text, no file`;
    } else {
      const b64 = pdfOf(Math.round(opts.fileMb * MiB)).toString('base64');
      frames = wss.map((_, i) => fileFrame(rooms[i], `${phase}-${i}`, b64));
      title = `(c) ${opts.auth} authenticated sockets × ${opts.fileMb} MiB file in files_data (${(b64.length / 1e6).toFixed(1)} MB frame)`;
    }
    return await run(title, () => holdThen(Promise.all(wss.map((ws, i) => sendBig(ws, frames[i], `${phase}-${i}`, opts.phaseTimeoutS * 1000)))));
  } finally {
    probe?.close();
    for (const ws of sockets) ws.terminate();
    await stopChild(child, 5_000).catch(() => killAllChildrenNow());
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

const mb = (x: number) => `${x.toFixed(0)} MB`;

export function formatPhase(p: PhaseReport): string {
  const answers = new Map<string, number>();
  for (const s of p.sockets) answers.set(s.answer, (answers.get(s.answer) ?? 0) + 1);
  const slowestAnswer = Math.max(...p.sockets.map((s) => s.answerMs ?? Infinity));
  const lines = [
    p.title,
    `  answers        ${[...answers].map(([a, n]) => `${n} × ${a}`).join(', ')} (slowest after ${Number.isFinite(slowestAnswer) ? slowestAnswer.toFixed(0) + ' ms' : '—'})`,
  ];
  // Sockets the server closed: when their TCP connection was gone (the anonymous ones never answer).
  const closedByServer = p.sockets.filter((s) => s.answer.startsWith('close') || s.answer === 'tcp closed' || p.phase === 'anon');
  if (closedByServer.length > 0) {
    const open = closedByServer.filter((s) => s.tcpClosedMs === null).length;
    const last = Math.max(...closedByServer.map((s) => s.tcpClosedMs ?? 0));
    lines.push(`  TCP closed     ${open > 0 ? `${open} still open at the end` : `by the server, the last after ${last.toFixed(0)} ms`}`);
  }
  lines.push(
    `  server RSS     ${mb(p.baseRssMb)} before, peak ${mb(p.peakRssMb)} (+${mb(p.peakRssMb - p.baseRssMb)}), ${mb(p.heldRssMb)} ${p.holdS} s after sending began`,
    `  stall          longest ping → pong ${p.stallMs.toFixed(0)} ms, p99 ${p.p99Ms.toFixed(0)} ms (${p.pings} pings)`,
  );
  return lines.join('\n');
}

export function formatBigFrames(r: BigFramesReport): string {
  return [`big frames: ${r.parleyDir}, node ${r.node}`, ...r.phases.map(formatPhase)].join('\n');
}
