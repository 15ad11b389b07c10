// What hostile images and audio cost a running Parley: one server process (SQLite, its own
// temp DATA_DIR) started from a source tree, uploads over real HTTP (upload-files) and the
// real socket (base64 send_message), and for each phase the server's peak RSS growth (VmHWM,
// reset through /proc/PID/clear_refs), its CPU seconds (all threads), how long the uploads
// took to be answered, and the ack latency of another user chatting meanwhile. Run it on
// another tree (`--root`, e.g. a checkout of an older commit) for a before/after figure.
import { mkdtempSync, openAsBlob, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { cpuSeconds, freePort, peakRssKb, rssKb, sleep, startChild, stopChild, waitPort } from '../../bench/lib/proc.js';
import { pngBomb } from './bombs.js';

export const PHASES = {
  'bomb-http-1': 'a 10000×10000 16-bit interlaced PNG (~600 KB) through upload-files',
  'bomb-http-2': 'two of them through upload-files at once',
  'bomb-ws-1': 'one as base64 in a send_message frame',
  'bomb-ws-2': 'two at once, each on its own socket',
  'jpeg-http-4': 'four 6000×4000 progressive JPEGs (allowed images, decoded whole) at once',
  'mp3-http-1': 'an MP3 frame header followed by 1 MB of 0xFF bytes, as a voice upload',
} as const;
export type PhaseName = keyof typeof PHASES;

export const SHORT_PHASES: PhaseName[] = ['bomb-http-1', 'bomb-http-2', 'bomb-ws-1', 'bomb-ws-2'];
export const ALL_PHASES = Object.keys(PHASES) as PhaseName[];

export interface StallOptions {
  /** The source tree whose `src/main.ts` is started (its node_modules are used). */
  root: string;
  phases: readonly PhaseName[];
  /** Longest wait for one upload's answer. */
  answerTimeoutMs?: number;
  /** Extra environment for the server. */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface PhaseResult {
  phase: PhaseName;
  /** One per upload: `400 <detail>`, `error <message>`, `200`, `new_message`, or `no answer`. */
  answers: string[];
  /** The slowest upload's time to its answer. */
  answeredMs: number;
  rssGrowthMb: number;
  cpuSeconds: number;
  /** The other user's send → ack latencies during the phase. */
  observer: { sends: number; p50Ms: number; maxMs: number };
}

export interface StallReport {
  root: string;
  idleObserver: { sends: number; p50Ms: number; maxMs: number };
  phases: PhaseResult[];
  /** Files under the server's FILES_ROOT (committed, `.part`, staging) after every phase. */
  storedFiles: number;
}

interface User {
  id: number;
  token: string;
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const summary = (xs: number[]) => ({ sends: xs.length, p50Ms: Math.round(percentile(xs, 50)), maxMs: Math.round(xs.length ? Math.max(...xs) : 0) });

/** A socket on /api/chat/ws that resolves frames by predicate. */
class Sock {
  readonly frames: any[] = [];
  #waiters: { pred: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      const w = this.#waiters.find((x) => x.pred(f));
      if (w) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(f);
      } else this.frames.push(f);
    });
  }
  static async open(url: string): Promise<Sock> {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const s = new Sock(ws);
    s.send({ type: 'ping' });
    await s.next((f) => f.type === 'pong', 30_000);
    return s;
  }
  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame));
  }
  next(pred: (f: any) => boolean, timeoutMs: number): Promise<any> {
    const i = this.frames.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (f: any) => {
          clearTimeout(t);
          resolve(f);
        },
      };
      const t = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }
  close() {
    this.ws.close();
  }
}

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    n += statSync(p).isDirectory() ? countFiles(p) : 1;
  }
  return n;
}

export async function runImageBombs(opts: StallOptions): Promise<StallReport> {
  const log = opts.log ?? (() => {});
  const answerTimeoutMs = opts.answerTimeoutMs ?? 120_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-stall-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    JWT_SECRET: 'stall-script-secret-that-is-long-enough-for-hs256',
    REGISTRATION: 'open',
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    ...opts.env,
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const child = startChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: opts.root, env, logFile: path.join(dir, 'server.log') });
  const sockets: Sock[] = [];
  try {
    await waitPort(port, child, 60_000);
    const pid = child.pid!;
    const base = `http://127.0.0.1:${port}`;
    const wsBase = `ws://127.0.0.1:${port}`;
    let n = 0;
    const newUser = async (): Promise<User> => {
      const res = await fetch(base + '/api/auth/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `stall${++n}-${process.pid}@example.com`, password: 'password-123', name: `Stall ${n}` }),
      });
      const body = (await res.json()) as { access_token: string; user: { id: number } };
      return { id: body.user.id, token: body.access_token };
    };
    const newRoom = async (a: User, b: User): Promise<number> => {
      const res = await fetch(base + '/api/chat/rooms', { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ receiver_id: b.id }) });
      return ((await res.json()) as { id: number }).id;
    };
    const socket = async (u: User, room: number) => {
      const s = await Sock.open(`${wsBase}/api/chat/ws?token=${encodeURIComponent(u.token)}&room_id=${room}`);
      sockets.push(s);
      return s;
    };

    const [uploader, partner, talker, listener] = [await newUser(), await newUser(), await newUser(), await newUser()];
    const uploadRoom = await newRoom(uploader, partner);
    const talkRoom = await newRoom(talker, listener);
    const talk = await socket(talker, talkRoom);
    await socket(listener, talkRoom);

    log('building the files');
    const bomb = await pngBomb();
    const jpeg = await sharp({ create: { width: 6000, height: 4000, channels: 3, background: { r: 90, g: 140, b: 200 } } }).jpeg({ quality: 80, progressive: true }).toBuffer();
    const mp3Header = Buffer.alloc(417);
    Buffer.from('fffb9000', 'hex').copy(mp3Header);
    const mp3 = Buffer.concat([mp3Header, Buffer.alloc(1024 * 1024, 0xff)]);
    const put = (name: string, bytes: Buffer) => {
      const p = path.join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const files = { bomb: put('bomb.png', bomb), jpeg: put('photo.jpg', jpeg), mp3: put('voice.mp3', mp3) };

    const upload = async (file: string, name: string, type: string, kind: string): Promise<string> => {
      const form = new FormData();
      form.append('files', await openAsBlob(file, { type }), name);
      form.append('message_type', kind);
      try {
        const res = await fetch(base + '/api/chat/upload-files', { method: 'POST', headers: { authorization: `Bearer ${uploader.token}` }, body: form, signal: AbortSignal.timeout(answerTimeoutMs) });
        const body = (await res.json()) as { detail?: string };
        return res.ok ? String(res.status) : `${res.status} ${body.detail}`;
      } catch {
        return 'no answer';
      }
    };
    let tempId = 0;
    const sendOnSocket = async (s: Sock, bytes: Buffer, name: string, type: string): Promise<string> => {
      const local_temp_id = `stall-${++tempId}`;
      s.send({ type: 'send_message', data: { room_id: uploadRoom, receiver_id: partner.id, message_type: 'image', local_temp_id, files_data: [{ file_data: bytes.toString('base64'), file_name: name, file_size: bytes.length, mime_type: type }] } });
      try {
        const f = await s.next((x) => (x.type === 'new_message' || x.type === 'error') && (x.local_temp_id === local_temp_id || x.data?.local_temp_id === local_temp_id), answerTimeoutMs);
        return f.type === 'error' ? `error ${f.message}` : 'new_message';
      } catch {
        return 'no answer';
      }
    };

    // The other user: one text message at a time, every 50 ms, timed from send to its ack.
    const latencies: { at: number; ms: number }[] = [];
    let talking = true;
    const talker_ = (async () => {
      let i = 0;
      while (talking) {
        const local_temp_id = `talk-${++i}`;
        const t0 = performance.now();
        talk.send({ type: 'send_message', data: { room_id: talkRoom, receiver_id: listener.id, content: `hello ${i}`, local_temp_id } });
        try {
          await talk.next((f) => f.type === 'new_message' && f.data?.local_temp_id === local_temp_id, answerTimeoutMs);
          latencies.push({ at: t0, ms: performance.now() - t0 });
        } catch {
          latencies.push({ at: t0, ms: answerTimeoutMs });
        }
        await sleep(50);
      }
    })();
    const during = (from: number, to: number) => summary(latencies.filter((l) => l.at >= from && l.at <= to).map((l) => l.ms));

    await sleep(1500);
    const idleFrom = performance.now();
    await sleep(1500);
    const idleObserver = during(idleFrom, performance.now());

    const phases: PhaseResult[] = [];
    for (const phase of opts.phases) {
      await sleep(500);
      const base0 = rssKb(pid) ?? 0;
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM := VmRSS
      } catch {
        /* not permitted: VmHWM is then the process's lifetime peak */
      }
      const cpu0 = cpuSeconds(pid) ?? 0;
      const t0 = performance.now();
      const timed = async (p: Promise<string>) => {
        const answer = await p;
        return { answer, ms: performance.now() - t0 };
      };
      let work: Promise<{ answer: string; ms: number }>[];
      switch (phase) {
        case 'bomb-http-1':
          work = [timed(upload(files.bomb, 'bomb.png', 'image/png', 'image'))];
          break;
        case 'bomb-http-2':
          work = [0, 1].map(() => timed(upload(files.bomb, 'bomb.png', 'image/png', 'image')));
          break;
        case 'bomb-ws-1': {
          const s = await socket(uploader, uploadRoom);
          work = [timed(sendOnSocket(s, bomb, 'bomb.png', 'image/png'))];
          break;
        }
        case 'bomb-ws-2': {
          const [s1, s2] = [await socket(uploader, uploadRoom), await socket(uploader, uploadRoom)];
          work = [s1, s2].map((s) => timed(sendOnSocket(s, bomb, 'bomb.png', 'image/png')));
          break;
        }
        case 'jpeg-http-4':
          work = [0, 1, 2, 3].map(() => timed(upload(files.jpeg, 'photo.jpg', 'image/jpeg', 'image')));
          break;
        case 'mp3-http-1':
          work = [timed(upload(files.mp3, 'voice.mp3', 'audio/mpeg', 'voice'))];
          break;
      }
      const done = await Promise.all(work);
      const t1 = performance.now();
      const result: PhaseResult = {
        phase,
        answers: done.map((d) => d.answer),
        answeredMs: Math.round(Math.max(...done.map((d) => d.ms))),
        rssGrowthMb: Math.round(((peakRssKb(pid) ?? base0) - base0) / 1024),
        cpuSeconds: Math.round(((cpuSeconds(pid) ?? cpu0) - cpu0) * 100) / 100,
        observer: during(t0, t1),
      };
      phases.push(result);
      log(`${phase}: ${JSON.stringify(result)}`);
    }
    talking = false;
    await talker_;
    // Accepted uploads (the allowed JPEGs) are pending files; refused ones must leave nothing.
    const storedFiles = countFiles(path.join(dir, 'static')) + countFiles(path.join(dir, '.staging'));
    return { root: opts.root, idleObserver, phases, storedFiles };
  } finally {
    for (const s of sockets) s.close();
    await stopChild(child, 5_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatImageBombReport(r: StallReport): string {
  const lines = [
    `server: ${r.root}`,
    `another user's send → ack while idle: p50 ${r.idleObserver.p50Ms} ms, max ${r.idleObserver.maxMs} ms (${r.idleObserver.sends} sends)`,
    '',
    `${'phase'.padEnd(12)} ${'answered'.padStart(9)} ${'peak RSS +'.padStart(10)} ${'CPU'.padStart(7)}   other user's ack p50 / max   answer`,
  ];
  for (const p of r.phases) {
    lines.push(
      `${p.phase.padEnd(12)} ${(p.answeredMs + ' ms').padStart(9)} ${(p.rssGrowthMb + ' MB').padStart(10)} ${(p.cpuSeconds.toFixed(2) + ' s').padStart(7)}   ${`${p.observer.p50Ms} / ${p.observer.maxMs} ms`.padStart(16)} (${String(p.observer.sends).padStart(3)})   ${[...new Set(p.answers)].join(' | ').slice(0, 140)}`,
    );
  }
  lines.push('', `files left under FILES_ROOT: ${r.storedFiles}`);
  return lines.join('\n');
}
