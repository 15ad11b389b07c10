// `npm run bench:storm`: a reconnect storm (issue 21 item 5). One Parley process (SQLite, or
// --db postgres), N clients of Parley's own socket (/api/parley/ws) in this process, paired in
// direct conversations, each caught up. Then every socket is dropped at once (Parley is
// restarted: every client loses its socket in the same instant), M messages per pair are sent
// while they are down, and every client reconnects as @parley/sdk does (first retry after
// 250–500 ms, a 1013's hint when it gets one) and resumes from its cursor. Printed every 250 ms:
// sockets open, resumed (`subscribed`), caught up (every missed seq once), 1013s; then the time
// to all caught up, lost and duplicated (per client, per seq), and the closes by code.
// The floor: the same clients, the same drop and pacing, against a bare `ws` server
// (bench/floor-relay.mjs): the time for N sockets to be open again, measured in the same run.
// Each run restarts Parley with its own RESUME_CONCURRENCY (--caps, default `64,off`), rounds
// interleaved (--rounds).
//
//   npm run bench:storm -- [--clients 10000] [--missed 2] [--db sqlite|postgres] [--caps 64,off]
//                          [--rounds 1] [--timeout 60] [--no-floor] [--profile DIR] [--group M]
// --group M: conversations of M members (default 2: pairs in direct conversations).
// --backlog N: listen(2)'s backlog of Parley (LISTEN_BACKLOG) and of the floor alike (default 4096).
// --profile DIR: every Parley process under node --cpu-prof into DIR (bench/profile-summary.ts reads it).
// Accounts cost no argon2: Parley trusts an identity provider's HS256 secret the bench holds
// (AUTH_HS256_SECRET), and each client's first socket provisions its user.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { cpuSeconds, freePort, killAllChildrenNow, sleep, startChild, stopChild, waitForLine, waitPort } from './lib/proc.js';
import { cleanupAll, cleanupAllSync, createScratchDb } from './lib/scratch.js';
import { execSync } from 'node:child_process';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs() {
  const o = { clients: 10_000, missed: 2, db: 'sqlite', caps: '64,off', rounds: 1, timeout: 60, floor: true, 'pg-url': process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres', concurrency: 64, profile: '', backlog: 4096, group: 2 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i].replace(/^--/, '');
    if (k === 'no-floor') o.floor = false;
    else if (k === 'help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
      process.exit(0);
    } else if (k in o) (o as Record<string, unknown>)[k] = typeof (o as Record<string, unknown>)[k] === 'number' ? Number(a[++i]) : a[++i];
    else throw new Error(`unknown option --${k}`);
  }
  o.group = Math.max(2, o.group);
  o.clients = Math.ceil(o.clients / o.group) * o.group;
  return o;
}
const o = parseArgs();
const log = (m: string) => process.stderr.write(`[storm] ${m}\n`);

const WS_OPTS: WebSocket.ClientOptions = { perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 };
/** @parley/sdk's first retry after a drop: 500 ms minus up to half of it (DEFAULT_RECONNECT). */
const firstRetryMs = () => Math.round(500 * (1 - 0.5 * Math.random()));
const laterRetryMs = (attempt: number) => Math.round(Math.min(30_000, 500 * 2 ** (attempt - 1)) * (1 - 0.5 * Math.random()));

interface Client {
  idx: number;
  token: string;
  userId: number;
  conv: number;
  /** The cursor: the highest seq and change_seq seen (moved on `subscribed`, as the SDK does). */
  seq: number;
  change: number;
  /** During a storm: the seq resumed from and how often each later seq arrived. */
  from: number;
  got: Uint8Array;
  ws: WebSocket | null;
  open: boolean;
  resumed: boolean;
  caughtUp: boolean;
  attempt: number;
  timer: NodeJS.Timeout | null;
  /** Ready resolves this (setup: provisioning). */
  onReady: ((userId: number) => void) | null;
  epoch: string | undefined;
}

/** One storm's counters. */
class Storm {
  open = 0;
  resumed = 0;
  caughtUp = 0;
  refused = 0;
  closes = new Map<number, number>();
  errors = new Map<string, number>();
  active = false;
  lastSeq = 0;
  allCaughtUpAt = 0;
  start = 0;
}

class Fleet {
  readonly clients: Client[] = [];
  storm = new Storm();
  wsBase = '';
  /** false: the floor relay (no auth, no frames of Parley's). */
  parley = true;

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      this.clients.push({ idx: i, token: '', userId: 0, conv: 0, seq: 0, change: 0, from: 0, got: new Uint8Array(0), ws: null, open: false, resumed: false, caughtUp: false, attempt: 0, timer: null, onReady: null, epoch: undefined });
    }
  }

  url(c: Client): string {
    return this.parley ? `${this.wsBase}/api/parley/ws?token=${encodeURIComponent(c.token)}` : `${this.wsBase}/?user=${c.idx}&room=g${Math.floor(c.idx / o.group)}`;
  }

  connect(c: Client): void {
    c.timer = null;
    const ws = new WebSocket(this.url(c), WS_OPTS);
    c.ws = ws;
    ws.on('open', () => {
      c.open = true;
      if (this.storm.active) this.storm.open++;
      if (!this.parley) this.#caughtUp(c);
    });
    ws.on('message', (data) => this.#frame(c, String(data)));
    // Why a socket failed (1006 closes): counted by message.
    ws.on('error', (e) => {
      if (this.storm.active) this.storm.errors.set(e.message, (this.storm.errors.get(e.message) ?? 0) + 1);
    });
    ws.on('close', (code, reason) => this.#closed(c, ws, code, String(reason)));
  }

  #frame(c: Client, raw: string): void {
    const f = JSON.parse(raw);
    switch (f.type) {
      case 'ready':
        c.epoch ??= f.epoch;
        if (c.onReady) return c.onReady(f.user.id);
        c.ws!.send(JSON.stringify({ type: 'subscribe', cursors: c.conv ? [{ conversation_id: c.conv, last_seq: c.seq, last_change_seq: c.change }] : [], epoch: c.epoch }));
        return;
      case 'subscribed':
        if (this.storm.active && !c.resumed) {
          c.resumed = true;
          this.storm.resumed++;
        }
        for (const x of f.conversations) if (x.id === c.conv) c.seq = Math.max(c.seq, x.last_seq);
        this.#check(c);
        return;
      case 'message': {
        const m = f.message;
        if (!c.conv) c.conv = f.conversation_id;
        if (f.conversation_id !== c.conv) return;
        c.change = Math.max(c.change, m.change_seq);
        if (this.storm.active) {
          const k = m.seq - c.from;
          if (k > 0 && k < c.got.length) c.got[k]++;
          else if (k >= c.got.length) this.storm.lastSeq = -1; // beyond what was sent: counted as foreign
        }
        c.seq = Math.max(c.seq, m.seq);
        this.#check(c);
        return;
      }
      case 'snapshot_required':
        log(`client ${c.idx}: snapshot_required (${raw.slice(0, 120)})`);
        return;
    }
  }

  #check(c: Client): void {
    if (!this.storm.active || c.caughtUp || !c.resumed) return;
    for (let k = 1; k < c.got.length; k++) if (c.got[k] === 0) return;
    this.#caughtUp(c);
  }

  #caughtUp(c: Client): void {
    if (!this.storm.active || c.caughtUp) return;
    c.caughtUp = true;
    if (++this.storm.caughtUp === this.clients.length) this.storm.allCaughtUpAt = performance.now();
  }

  #closed(c: Client, ws: WebSocket, code: number, reason: string): void {
    if (c.ws !== ws) return;
    c.ws = null;
    if (c.open && this.storm.active) this.storm.open--;
    c.open = false;
    if (!this.storm.active) return;
    this.storm.closes.set(code, (this.storm.closes.get(code) ?? 0) + 1);
    const hint = code === 1013 ? Number(/retry_after_ms=(\d+)/.exec(reason)?.[1] ?? NaN) : NaN;
    if (code === 1013) this.storm.refused++;
    c.attempt++;
    c.timer = setTimeout(() => this.connect(c), Number.isFinite(hint) ? hint : laterRetryMs(c.attempt));
  }

  /** Every client's socket is gone (the server was stopped): they wait for the storm. */
  dropAll(): void {
    for (const c of this.clients) {
      if (c.timer) clearTimeout(c.timer);
      c.timer = null;
      const ws = c.ws;
      c.ws = null;
      c.open = false;
      ws?.terminate();
    }
  }

  /** Reconnects every client after the SDK's first-retry delay; `missed` messages per conversation to catch up. */
  beginStorm(missed: number): void {
    this.storm = new Storm();
    this.storm.active = true;
    this.storm.start = performance.now();
    for (const c of this.clients) {
      c.from = c.seq;
      c.got = new Uint8Array(missed + 1);
      c.resumed = c.caughtUp = false;
      c.attempt = 1;
      c.timer = setTimeout(() => this.connect(c), firstRetryMs());
    }
  }

  /** Per seq missed: not received (lost, or still missing when the storm timed out) and received more than once. */
  endStorm(): { lost: number; duplicated: number } {
    let lost = 0;
    let duplicated = 0;
    if (this.parley) {
      for (const c of this.clients) {
        for (let k = 1; k < c.got.length; k++) {
          if (c.got[k] === 0) lost++;
          else duplicated += c.got[k] - 1;
        }
      }
    }
    this.storm.active = false;
    return { lost, duplicated };
  }
}

async function pool<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function post(base: string, token: string, p: string, body: unknown): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.ok) return JSON.parse(text);
    if (attempt < 5 && (res.status === 429 || res.status >= 500)) {
      await sleep(200 * (attempt + 1));
      continue;
    }
    throw new Error(`POST ${p} -> ${res.status} ${text.slice(0, 200)}`);
  }
}

/** Every user's uuid, token version and tenant uuid, by id (to sign Parley tokens as login would). */
async function usersOf(dbUrl: string): Promise<Map<number, { uuid: string; ver: number; tenant: string }>> {
  const sql = 'SELECT u.id, u.uuid, u.token_version AS ver, t.uuid AS tenant FROM users u JOIN tenants t ON t.id = u.tenant_id';
  let rows: { id: number; uuid: string; ver: number; tenant: string }[];
  if (dbUrl.startsWith('sqlite:')) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(dbUrl.slice('sqlite:'.length), { readonly: true });
    rows = db.prepare(sql).all() as typeof rows;
    db.close();
  } else {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    rows = (await client.query(sql)).rows;
    await client.end();
  }
  return new Map(rows.map((r) => [Number(r.id), { uuid: r.uuid, ver: Number(r.ver), tenant: r.tenant }]));
}

interface Run {
  label: string;
  curve: string[];
  allMs: number | null;
  caughtUp: number;
  /** Missed messages not received: lost when everyone caught up... and when not, not yet received by the timeout. */
  lost: number;
  duplicated: number;
  refused: number;
  /** CPU seconds of this process (the clients) over the storm. */
  clientCpu: number;
  closes: string;
  /** The storm's window, µs of CLOCK_MONOTONIC (a --cpu-prof profile's time base: profile-summary --from --to). */
  windowUs: [number, number];
  /** CPU seconds the server used from the drop to the end of the storm. */
  serverCpu: number | null;
}

/** Runs one storm to its end (everyone caught up, or the timeout); prints the curve as it goes. */
async function storm(fleet: Fleet, label: string, missed: number, pid: number): Promise<Run> {
  const cpu0 = cpuSeconds(pid);
  const own0 = process.cpuUsage();
  const monoUs = () => Number(process.hrtime.bigint() / 1000n);
  const from = monoUs();
  fleet.beginStorm(missed);
  const curve: string[] = [];
  const s = fleet.storm;
  const row = () => {
    const t = ((performance.now() - s.start) / 1000).toFixed(2);
    const line = `${t.padStart(6)} s  open ${String(s.open).padStart(6)}  resumed ${String(s.resumed).padStart(6)}  caught up ${String(s.caughtUp).padStart(6)}  1013s ${String(s.refused).padStart(6)}`;
    curve.push(line);
    log(`${label}: ${line}`);
  };
  const deadline = s.start + o.timeout * 1000;
  while (s.caughtUp < fleet.clients.length && performance.now() < deadline) {
    await sleep(250);
    row();
  }

  const cpu1 = cpuSeconds(pid);
  const own = process.cpuUsage(own0);
  const clientCpu = (own.user + own.system) / 1e6;
  const windowUs: [number, number] = [from, monoUs()];
  const serverCpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
  // Late duplicates would come right after: give them a moment before counting.
  await sleep(500);
  const allMs = s.allCaughtUpAt > 0 ? s.allCaughtUpAt - s.start : null;
  const errors = [...s.errors].map(([m, n]) => `${m} ×${n}`).join('; ');
  const closes = ([...s.closes].sort((a, b) => a[0] - b[0]).map(([code, n]) => `${code}×${n}`).join(' ') || 'none') + (errors ? ` (${errors})` : '');
  const caughtUp = s.caughtUp;
  const refused = s.refused;
  const { lost, duplicated } = fleet.endStorm();
  return { label, curve, allMs, caughtUp, lost, duplicated, refused, closes, serverCpu, windowUs, clientCpu };
}

async function main() {
  const tmp = mkdtempSync(path.join(tmpdir(), 'parley-storm-'));
  const secret = randomBytes(24).toString('hex');
  const idpSecret = randomBytes(24).toString('hex');
  const port = await freePort();
  let dbUrl = `sqlite:${path.join(tmp, 'parley.db')}`;
  if (o.db === 'postgres') dbUrl = (await createScratchDb(o['pg-url'])).url;
  const load = () => execSync('uptime').toString().trim().replace(/.*load average:/, 'load average:');
  const out: string[] = [];
  const convs = o.clients / o.group;
  const shape = o.group === 2 ? `${convs} pairs in direct conversations` : `${convs} groups of ${o.group}`;
  out.push(`# reconnect storm: ${o.clients} clients of /api/parley/ws (${shape}), ${o.missed} messages per conversation sent while down; one Parley process on ${o.db}, LISTEN_BACKLOG ${o.backlog}`);
  out.push(`# before: ${load()}`);

  const fleet = new Fleet(o.clients);
  const runs: Run[] = [];

  if (o.floor) {
    const child = startChild(process.execPath, [path.join(ROOT, 'bench/floor-relay.mjs'), '--port', '0', '--host', '127.0.0.1', '--backlog', String(o.backlog)], { cwd: ROOT, logFile: path.join(tmp, 'floor.log') });
    const m = await waitForLine(child, /LISTENING (\d+)/, 20_000);
    fleet.parley = false;
    fleet.wsBase = `ws://127.0.0.1:${m[1]}`;
    // The floor's "drop": every client socket destroyed at once, then the same reconnect pacing.
    const run = await storm(fleet, 'floor (bare ws, open again)', 0, child.pid!);
    fleet.dropAll();
    await stopChild(child);
    runs.push(run);
    fleet.parley = true;
  }

  const env = (cap: string): NodeJS.ProcessEnv => ({
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: dbUrl,
    JWT_SECRET: secret,
    AUTH_HS256_SECRET: idpSecret,
    DATA_DIR: tmp,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    RATE_USER_READS_PER_SECOND: '0',
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
    HTTP_MAX_CONNECTIONS: '0',
    WS_MAX_UNAUTHENTICATED_PER_ADDRESS: '0',
    RESUME_CONCURRENCY: cap === 'off' ? '0' : cap,
    LISTEN_BACKLOG: String(o.backlog),
    REDIS_URL: '',
  });
  let starts = 0;
  const startParley = async (cap: string) => {
    const prof = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.profile)}`] : [];
    const child = startChild(process.execPath, [...prof, '--import', 'tsx', path.join(ROOT, 'src/main.ts')], { cwd: ROOT, env: env(cap), logFile: path.join(tmp, `parley-${starts++}.log`) });
    await waitPort(port, child, 120_000);
    return child;
  };
  const base = `http://127.0.0.1:${port}`;
  fleet.wsBase = `ws://127.0.0.1:${port}`;
  const caps = o.caps.split(',');
  let parley = await startParley(caps[0]);

  // Setup: each client's first socket provisions its user (ready names it); pairs get a direct
  // conversation and one message, which every client receives live: its cursor.
  const t0 = performance.now();
  const enc = new TextEncoder().encode(idpSecret);
  for (const c of fleet.clients) {
    c.token = await new SignJWT({ name: `Storm ${c.idx}` }).setProtectedHeader({ alg: 'HS256' }).setSubject(`storm-${c.idx}`).setIssuedAt().setExpirationTime('6h').sign(enc);
  }
  await pool(fleet.clients, o.concurrency, (c) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client ${c.idx}: no ready`)), 60_000);
    c.onReady = (id) => {
      clearTimeout(timer);
      c.userId = id;
      c.onReady = null;
      c.ws!.send(JSON.stringify({ type: 'subscribe', cursors: [] }));
      resolve();
    };
    fleet.connect(c);
  }));
  log(`setup: ${o.clients} sockets open, users provisioned in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The first member of each conversation creates it (direct, or a group of the next members) and sends.
  const owners = fleet.clients.filter((c) => c.idx % o.group === 0);
  await pool(owners, o.concurrency, async (c) => {
    const members = fleet.clients.slice(c.idx + 1, c.idx + o.group);
    const body = o.group === 2 ? { kind: 'direct', user_id: members[0].userId } : { kind: 'group', title: `storm ${c.idx}`, member_ids: members.map((m) => m.userId) };
    const conv = await post(base, c.token, '/api/parley/conversations', body);
    c.conv = conv.id;
    for (const m of members) m.conv = conv.id;
    await post(base, c.token, `/api/parley/conversations/${conv.id}/messages`, { kind: 'text', content: 'hello' });
  });
  for (let i = 0; fleet.clients.some((c) => c.seq < 1); i++) {
    if (i > 240) throw new Error(`${fleet.clients.filter((c) => c.seq < 1).length} clients never got their first message`);
    await sleep(250);
  }
  log(`setup: ${convs} conversations, every client at seq 1, after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // From now on each client holds a token of Parley's own, as an SDK client does (the
  // provider's tokens cost a failed check against Parley's key first: not what is measured).
  const rows = await usersOf(dbUrl);
  const parleySecret = new TextEncoder().encode(secret);
  for (const c of fleet.clients) {
    const u = rows.get(c.userId);
    if (!u) throw new Error(`user ${c.userId} not found in the database`);
    c.token = await new SignJWT({ tid: u.tenant, tenant_id: u.tenant, ver: u.ver }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(u.uuid).setIssuer('parley').setIssuedAt().setExpirationTime('6h').sign(parleySecret);
  }

  for (let round = 0; round < o.rounds; round++) {
    for (const cap of caps) {
      // The drop: Parley restarts (every socket lost in the same instant) with this run's cap.
      fleet.dropAll();
      await stopChild(parley);
      parley = await startParley(cap);
      // Sent while every client is down (by the pair's first member, over REST).
      const t1 = performance.now();
      await pool(owners, o.concurrency, async (c) => {
        for (let k = 0; k < o.missed; k++) await post(base, c.token, `/api/parley/conversations/${c.conv}/messages`, { kind: 'text', content: `missed ${k}` });
      });
      log(`${convs * o.missed} messages sent while down in ${((performance.now() - t1) / 1000).toFixed(1)} s; ${load()}`);
      await sleep(1000);
      runs.push(await storm(fleet, `parley RESUME_CONCURRENCY=${cap === 'off' ? '0 (off)' : cap}`, o.missed, parley.pid!));
    }
  }
  fleet.dropAll();
  await stopChild(parley);

  out.push(`# after: ${load()}`);
  for (const r of runs) {
    out.push('');
    out.push(`## ${r.label}`);
    out.push(...r.curve.filter((_, i, a) => i % 2 === 1 || i === a.length - 1));
    out.push(`all caught up: ${r.allMs === null ? `NO (${r.caughtUp}/${o.clients} within ${o.timeout} s)` : `${(r.allMs / 1000).toFixed(2)} s`}   ${r.allMs === null ? 'not received by the timeout' : 'lost'} ${r.lost}   duplicated ${r.duplicated}   1013s ${r.refused}   closes ${r.closes}   server CPU ${r.serverCpu?.toFixed(2) ?? '?'} s (${r.serverCpu === null ? '?' : ((r.serverCpu * 1000) / o.clients).toFixed(2)} ms a client)   clients' CPU ${r.clientCpu.toFixed(2)} s`);
    if (o.profile) out.push(`profile window: --from ${r.windowUs[0]} --to ${r.windowUs[1]}`);
  }
  const floor = runs.find((r) => r.label.startsWith('floor'));
  out.push('');
  out.push('| run | all caught up (s) | × the floor | server CPU (s) | × the floor | clients\' CPU (s) | lost | duplicated | 1013s | closes |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of runs) {
    const ratio = floor?.allMs && r.allMs ? (r.allMs / floor.allMs).toFixed(1) + '×' : '';
    out.push(`| ${r.label} | ${r.allMs === null ? 'not within ' + o.timeout : (r.allMs / 1000).toFixed(2)} | ${ratio} | ${r.serverCpu?.toFixed(2) ?? '?'} | ${floor?.serverCpu && r.serverCpu ? (r.serverCpu / floor.serverCpu).toFixed(1) + '×' : ''} | ${r.clientCpu.toFixed(2)} | ${r.allMs === null ? `${r.lost} not yet` : r.lost} | ${r.duplicated} | ${r.refused} | ${r.closes} |`);
  }
  console.log(out.join('\n'));
  rmSync(tmp, { recursive: true, force: true });
}

process.on('exit', () => {
  killAllChildrenNow();
  cleanupAllSync();
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
main()
  .then(() => cleanupAll(log))
  .catch(async (e) => {
    console.error(e);
    await cleanupAll(log);
    process.exitCode = 1;
  })
  .finally(() => process.exit());
