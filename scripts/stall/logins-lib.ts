import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort, ParleyProcess, sleep } from '../fault/cluster.js';

// Issue 14 item 8: password hashing (argon2, on libuv's thread pool) starved the write path
// (SQLite's WAL flush runs on the same pool): 115 logins/s raised other users' acks from 3 ms
// to 56 ms. This starts one Parley process on SQLite, lets two users exchange messages over
// /api/chat/ws, measures each send's time to its ack, first quiet, then while a stream of
// logins (about `loginRate` per second, open loop, from other requests) runs, and prints both.

export interface LoginStallOptions {
  /** Length of each phase (quiet, then under logins). */
  phaseMs: number;
  /** Logins started per second during the second phase. */
  loginRate: number;
  /** Each chatter sends one message every this many ms (one at a time: the next waits for the ack). */
  sendEveryMs: number;
  /** Most logins in flight at once (the generator skips a slot beyond it, so a stalled server is not buried). */
  maxInFlight: number;
  /** Extra environment for the server (e.g. UV_THREADPOOL_SIZE, PASSWORD_HASH_CONCURRENCY). */
  env: Record<string, string>;
  log: (line: string) => void;
}

export const LOGIN_STALL_DEFAULTS: LoginStallOptions = { phaseMs: 10_000, loginRate: 120, sendEveryMs: 20, maxInFlight: 400, env: {}, log: () => {} };

export interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LoginStallReport {
  quiet: Latencies;
  underLogins: Latencies;
  logins: { started: number; skipped: number; perSecond: number; statuses: Record<string, number>; p50: number; p99: number };
  /** underLogins.p99 / quiet.p99 */
  p99Ratio: number;
}

export function percentiles(samples: number[]): Latencies {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1] : NaN };
}

async function post(base: string, p: string, json: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(base + p, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A chatter: sends to the room, one message at a time, and records each send's time to its ack. */
class Chatter {
  readonly #ws: WebSocket;
  readonly #pending = new Map<string, number>();
  #n = 0;
  #timer: NodeJS.Timeout | null = null;
  #sink: number[] | null = null;
  readonly opened: Promise<void>;

  constructor(
    wsBase: string,
    token: string,
    readonly roomId: number,
    readonly tag: string,
  ) {
    this.#ws = new WebSocket(`${wsBase}/api/chat/ws?token=${encodeURIComponent(token)}&room_id=${roomId}`);
    this.opened = new Promise((resolve, reject) => {
      this.#ws.once('open', () => resolve());
      this.#ws.once('error', reject);
    });
    this.#ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; data?: { local_temp_id?: string } };
      const id = f.type === 'new_message' ? f.data?.local_temp_id : undefined;
      const t0 = id ? this.#pending.get(id) : undefined;
      if (id === undefined || t0 === undefined) return;
      this.#pending.delete(id);
      this.#sink?.push(performance.now() - t0);
    });
  }

  /** Sends every `everyMs` (skipping a beat while the previous send waits for its ack), recording into `sink`. */
  run(everyMs: number, sink: number[]): void {
    this.#sink = sink;
    this.#timer = setInterval(() => {
      if (this.#pending.size > 0) return;
      const id = `${this.tag}-${++this.#n}`;
      this.#pending.set(id, performance.now());
      this.#ws.send(JSON.stringify({ type: 'send_message', data: { room_id: this.roomId, content: `stall ${id}`, local_temp_id: id } }));
    }, everyMs);
  }

  /** Stops sending; a send still waiting for its ack counts with the time it has waited so far. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const now = performance.now();
    for (const t0 of this.#pending.values()) this.#sink?.push(now - t0);
    this.#sink = null;
    this.#pending.clear();
  }

  close(): void {
    this.stop();
    this.#ws.close();
  }
}

export async function runLoginStall(options: Partial<LoginStallOptions> = {}): Promise<LoginStallReport> {
  const o: LoginStallOptions = { ...LOGIN_STALL_DEFAULTS, ...options };
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-stall-'));
  const port = await freePort();
  const proc = new ParleyProcess({
    index: 0,
    port,
    dataDir: path.join(dir, 'data'),
    logFile: path.join(dir, 'parley.log'),
    env: {
      JWT_SECRET: 'stall-run-secret-that-is-long-enough-for-hs256',
      LOG_LEVEL: 'warn',
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      RATE_CONNECTION_FRAMES_PER_SECOND: '0',
      // Every login comes from 127.0.0.1 here: the per-address throttle would turn most of
      // them away before hashing, and this measures what hashing does to the write path.
      RATE_LOGIN_ACCOUNT_FAILURES: 'off',
      RATE_LOGIN_ADDRESS_FAILURES: 'off',
      RATE_LOGIN_ADDRESS_ATTEMPTS: 'off',
      RATE_USER_READS_PER_SECOND: '0',
      // Hundreds of logins in flight from one address.
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ...o.env,
    },
  });
  const chatters: Chatter[] = [];
  try {
    await proc.start();
    const base = proc.url;
    const stamp = `${process.pid}-${Date.now()}`;
    const reg = async (who: string) => {
      const r = await post(base, '/api/auth/register', { email: `${who}-${stamp}@stall.example`, password: `password-${who}`, name: who });
      if (r.status !== 201) throw new Error(`register ${who}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as { access_token: string; user: { id: number; email: string } };
    };
    const ada = await reg('ada');
    const bob = await reg('bob');
    const target = await reg('login-target');
    const room = await post(base, '/api/chat/rooms', { receiver_id: bob.user.id }, ada.access_token);
    if (room.status !== 200) throw new Error(`room: ${room.status} ${JSON.stringify(room.body)}`);
    const wsBase = base.replace(/^http/, 'ws');
    chatters.push(new Chatter(wsBase, ada.access_token, room.body.id, 'a'), new Chatter(wsBase, bob.access_token, room.body.id, 'b'));
    await Promise.all(chatters.map((c) => c.opened));

    // Warm-up: the first sends prepare statements and fill caches.
    const warm: number[] = [];
    for (const c of chatters) c.run(o.sendEveryMs, warm);
    await sleep(Math.min(2_000, o.phaseMs / 2));
    for (const c of chatters) c.stop();

    o.log(`quiet phase: ${o.phaseMs} ms`);
    const quiet: number[] = [];
    for (const c of chatters) c.run(o.sendEveryMs, quiet);
    await sleep(o.phaseMs);
    for (const c of chatters) c.stop();

    o.log(`login phase: ${o.phaseMs} ms at ${o.loginRate} logins/s`);
    const loaded: number[] = [];
    const loginTimes: number[] = [];
    const statuses: Record<string, number> = {};
    let started = 0;
    let skipped = 0;
    let inFlight = 0;
    const attempts: Promise<void>[] = [];
    const login = async () => {
      inFlight++;
      const t0 = performance.now();
      try {
        // Half right, half wrong: both cost a hash.
        const r = await post(base, '/api/auth/login', { email: target.user.email, password: started % 2 ? 'password-login-target' : 'wrong-password' });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      } catch (e) {
        statuses[(e as Error).name] = (statuses[(e as Error).name] ?? 0) + 1;
      } finally {
        loginTimes.push(performance.now() - t0);
        inFlight--;
      }
    };
    for (const c of chatters) c.run(o.sendEveryMs, loaded);
    const t0 = performance.now();
    // Open loop: logins start on schedule whether or not earlier ones finished.
    while (performance.now() - t0 < o.phaseMs) {
      const due = Math.floor(((performance.now() - t0) / 1000) * o.loginRate);
      while (started + skipped < due) {
        if (inFlight >= o.maxInFlight) skipped++;
        else {
          started++;
          attempts.push(login());
        }
      }
      await sleep(5);
    }
    for (const c of chatters) c.stop();
    await Promise.all(attempts);
    const lt = percentiles(loginTimes);
    const report: LoginStallReport = {
      quiet: percentiles(quiet),
      underLogins: percentiles(loaded),
      logins: { started, skipped, perSecond: (started / o.phaseMs) * 1000, statuses, p50: lt.p50, p99: lt.p99 },
      p99Ratio: 0,
    };
    report.p99Ratio = report.underLogins.p99 / report.quiet.p99;
    const problems = proc.problems();
    if (problems.length > 0) o.log(`server errors:\n${problems.slice(0, 10).join('\n')}`);
    return report;
  } finally {
    for (const c of chatters) c.close();
    await proc.stop();
    await proc.closeLog();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : 'n/a');

export function formatLoginStallReport(r: LoginStallReport): string {
  const statuses = Object.entries(r.logins.statuses)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return [
    'ack latency of two chatting users (send → own new_message):',
    `  quiet          p50 ${ms(r.quiet.p50)}  p99 ${ms(r.quiet.p99)}  max ${ms(r.quiet.max)}  (${r.quiet.count} sends)`,
    `  under logins   p50 ${ms(r.underLogins.p50)}  p99 ${ms(r.underLogins.p99)}  max ${ms(r.underLogins.max)}  (${r.underLogins.count} sends)`,
    `  p99 ratio      ${r.p99Ratio.toFixed(1)}×`,
    `logins: ${r.logins.started} started (${r.logins.perSecond.toFixed(0)}/s, ${r.logins.skipped} skipped at the in-flight cap), ${statuses}; login p50 ${ms(r.logins.p50)} p99 ${ms(r.logins.p99)}`,
  ].join('\n');
}
