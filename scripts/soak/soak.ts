import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import WebSocket from 'ws';
import { freePort, ParleyProcess, sleep } from '../fault/cluster.js';

// Issue 21 item 6: churn against one Parley process for a long time — clients connecting,
// disconnecting (cleanly and abruptly) and resuming with their cursors, messages in 1:1s and
// groups, uploads, reads, typing, reactions — while the server's RSS, heap, active handles,
// event listeners and hub maps are sampled from /metrics after a forced full GC. Judged by
// `judge`: RSS flat within 10% after the warm-up (mean of the last tenth against the first),
// handles and listeners within a small bound, nothing lost or duplicated, no 5xx.

export interface SoakOptions {
  /** The whole run, warm-up included. */
  durationMs: number;
  /** Churn before the first sample that counts (caches fill, code is compiled). */
  warmupMs: number;
  sampleEveryMs: number;
  users: number;
  /** Groups of `groupSize` members (besides a 1:1 between each two neighbours). */
  groups: number;
  groupSize: number;
  /** Mean pause between one client's actions while connected. */
  actEveryMs: number;
  /** A full GC in the server before each sample (SIGUSR2 to the preload). */
  gcBeforeSample: boolean;
  /** Extra server environment (e.g. DATABASE_URL, REDIS_URL for PostgreSQL + Redis). */
  env: Record<string, string>;
  log: (line: string) => void;
}

export const SOAK_DEFAULTS: SoakOptions = {
  durationMs: 60 * 60_000,
  warmupMs: 5 * 60_000,
  sampleEveryMs: 10_000,
  users: 24,
  groups: 3,
  groupSize: 6,
  actEveryMs: 250,
  gcBeforeSample: true,
  env: {},
  log: () => {},
};

/** The bounds `judge` applies. */
export const LIMITS = {
  /** RSS (and the heap after a full GC) may grow this much, last tenth's mean over the first's. */
  growth: 0.1,
  /** Active handles and listeners may grow by this many, mean against mean (sockets come and go). */
  handleSlack: 10,
  /** At the two quiet points (every client connected, idle) they may differ by this many. */
  quietSlack: 4,
  /**
   * V8's old space after a full GC at rest may grow by `restSlack` (what compilation still
   * adds after a short warm-up) plus this much per message sent between the two rests: a short
   * run's leak check (keeping each event costs 2 KB and more here), where 10% of the heap
   * would take longer than CI has to show.
   */
  bytesPerMessage: 1_000,
  restSlack: 640 * 1024,
};

export interface Sample {
  /** Seconds since the churn started. */
  t: number;
  rss: number;
  heapUsed: number;
  /** The heap V8 holds (used or not) and memory outside it (Buffers, native objects): where RSS goes when the heap stays put. */
  heapTotal: number;
  external: number;
  /** V8's old space alone: what a leak fills, without the code space that optimisation keeps growing for a while. */
  oldSpace: number;
  handles: number;
  listeners: number;
  connections: number;
  followers: number;
  sent: number;
}

type Figures = Omit<Sample, 't' | 'sent'>;

export interface SoakReport {
  warmupSamples: Sample[];
  series: Sample[];
  /** Every client connected, caught up and idle: after the warm-up and at the end (and the messages sent between). */
  quiet: { before: Figures; after: Figures; messages: number };
  sent: number;
  acked: number;
  lost: number;
  duplicated: number;
  duplicates: string[];
  serverErrors: number;
  errorFrames: Record<string, number>;
  snapshots: number;
  actions: Record<string, number>;
  connects: number;
  load: number[];
  verdict: Verdict;
}

export interface Verdict {
  ok: boolean;
  failures: string[];
  rssGrowth: number;
  heapGrowth: number;
  handleGrowth: number;
  listenerGrowth: number;
  /** Old-space growth at rest per message sent in between (bytes). */
  retained: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The first and last tenth of a series (at least 3 samples each when there are enough). */
export function tenths<T>(series: T[]): { first: T[]; last: T[] } {
  const n = Math.min(Math.floor(series.length / 2), Math.max(3, Math.floor(series.length / 10)));
  return { first: series.slice(0, n), last: series.slice(series.length - n) };
}

/** Pass or fail: growth between the first and last tenth of the series after warm-up, and the delivery counts. */
export function judge(r: Omit<SoakReport, 'verdict' | 'warmupSamples' | 'load' | 'actions' | 'connects'>): Verdict {
  const failures: string[] = [];
  const { first, last } = tenths(r.series);
  const m = (s: Sample[], k: keyof Sample) => mean(s.map((x) => x[k]));
  const rssGrowth = m(last, 'rss') / m(first, 'rss') - 1;
  const heapGrowth = m(last, 'heapUsed') / m(first, 'heapUsed') - 1;
  const handleGrowth = m(last, 'handles') - m(first, 'handles');
  const listenerGrowth = m(last, 'listeners') - m(first, 'listeners');
  if (r.series.length < 6) failures.push(`only ${r.series.length} samples after the warm-up (at least 6 needed)`);
  if (!(rssGrowth <= LIMITS.growth)) failures.push(`RSS grew ${pct(rssGrowth)} (limit ${pct(LIMITS.growth)})`);
  if (!(heapGrowth <= LIMITS.growth)) failures.push(`heap after GC grew ${pct(heapGrowth)} (limit ${pct(LIMITS.growth)})`);
  if (!(handleGrowth <= LIMITS.handleSlack)) failures.push(`active handles grew by ${handleGrowth.toFixed(1)} (limit ${LIMITS.handleSlack})`);
  if (!(listenerGrowth <= LIMITS.handleSlack)) failures.push(`listeners grew by ${listenerGrowth.toFixed(1)} (limit ${LIMITS.handleSlack})`);
  for (const k of ['handles', 'listeners', 'followers', 'connections'] as const) {
    const d = r.quiet.after[k] - r.quiet.before[k];
    if (d > LIMITS.quietSlack) failures.push(`${k} at rest: ${r.quiet.before[k]} before the churn, ${r.quiet.after[k]} after (limit +${LIMITS.quietSlack})`);
  }
  const grown = r.quiet.after.oldSpace - r.quiet.before.oldSpace;
  const retained = grown / Math.max(1, r.quiet.messages);
  if (!(grown <= LIMITS.restSlack + LIMITS.bytesPerMessage * r.quiet.messages)) {
    failures.push(`the old space at rest grew ${mb(grown)} MB, ${retained.toFixed(0)} bytes per message sent (limit ${mb(LIMITS.restSlack)} MB + ${LIMITS.bytesPerMessage} per message)`);
  }
  if (r.lost > 0) failures.push(`${r.lost} messages lost`);
  if (r.duplicated > 0) failures.push(`${r.duplicated} messages duplicated`);
  if (r.serverErrors > 0) failures.push(`${r.serverErrors} responses were 5xx`);
  if ((r.errorFrames.internal ?? 0) > 0) failures.push(`${r.errorFrames.internal} error frames said internal`);
  if (r.acked === 0) failures.push('no message was acknowledged');
  return { ok: failures.length === 0, failures, rssGrowth, heapGrowth, handleGrowth, listenerGrowth, retained };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const mb = (x: number) => (x / 2 ** 20).toFixed(1);

export function formatSoakReport(r: SoakReport): string {
  const rows = [['t (s)', 'RSS MB', 'heap MB', 'heap total', 'external', 'handles', 'listeners', 'sockets', 'followers', 'sent']];
  const row = (s: Sample, mark = '') => [`${mark}${s.t.toFixed(0)}`, mb(s.rss), mb(s.heapUsed), mb(s.heapTotal), mb(s.external), String(s.handles), String(s.listeners), String(s.connections), String(s.followers), String(s.sent)];
  for (const s of r.warmupSamples) rows.push(row(s, 'w '));
  for (const s of r.series) rows.push(row(s));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  const table = rows.map((x) => x.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n');
  const { first, last } = tenths(r.series);
  const v = r.verdict;
  const q = (f: Figures) => `handles ${f.handles}, listeners ${f.listeners}, sockets ${f.connections}, followers ${f.followers}, RSS ${mb(f.rss)} MB, heap ${mb(f.heapUsed)} MB (old space ${mb(f.oldSpace)} MB)`;
  return [
    table,
    '(w = warm-up, not judged)',
    `RSS after warm-up: first tenth ${mb(mean(first.map((s) => s.rss)))} MB → last tenth ${mb(mean(last.map((s) => s.rss)))} MB: ${pct(v.rssGrowth)} (limit ${pct(LIMITS.growth)})`,
    `heap after GC: ${mb(mean(first.map((s) => s.heapUsed)))} MB → ${mb(mean(last.map((s) => s.heapUsed)))} MB: ${pct(v.heapGrowth)}`,
    `active handles: ${v.handleGrowth >= 0 ? '+' : ''}${v.handleGrowth.toFixed(1)}, listeners: ${v.listenerGrowth >= 0 ? '+' : ''}${v.listenerGrowth.toFixed(1)} (limit +${LIMITS.handleSlack})`,
    `at rest after the warm-up: ${q(r.quiet.before)}`,
    `at rest at the end:        ${q(r.quiet.after)}`,
    `old space at rest: ${v.retained.toFixed(0)} bytes per message sent in between (${r.quiet.messages}; limit ${mb(LIMITS.restSlack)} MB + ${LIMITS.bytesPerMessage} per message)`,
    `messages sent ${r.sent}, acked ${r.acked}, lost ${r.lost}, duplicated ${r.duplicated}; 5xx ${r.serverErrors}; connects ${r.connects}; snapshot_required ${r.snapshots}`,
    ...r.duplicates.map((d) => `  duplicate: ${d}`),
    `actions: ${Object.entries(r.actions).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `error frames: ${Object.entries(r.errorFrames).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
    `load average (1, 5, 15 min) at the end: ${r.load.map((x) => x.toFixed(2)).join(', ')}`,
    v.ok ? 'PASS' : `FAIL\n  ${v.failures.join('\n  ')}`,
  ].join('\n');
}

// ------------------------------------------------------------------ the run's shared state

interface Conv {
  id: number;
  members: number[];
}

/** What the run knows of every message it sent, by its tag (its local_temp_id, also in its content). */
interface Sent {
  conversation: number;
  acked: boolean;
  refused: boolean;
}

class Ledger {
  readonly sent = new Map<string, Sent>();
  /** user id → tag → times a `message` frame carried it. */
  readonly received = new Map<number, Map<string, number>>();
  duplicated = 0;
  serverErrors = 0;
  snapshots = 0;
  connects = 0;
  readonly errorFrames: Record<string, number> = {};
  readonly actions: Record<string, number> = {};

  count(action: string): void {
    this.actions[action] = (this.actions[action] ?? 0) + 1;
  }

  /** The first few duplicates: who got which message twice, and how (for the report). */
  readonly duplicates: string[] = [];

  receive(user: number, tag: string, how: string): void {
    let mine = this.received.get(user);
    if (!mine) this.received.set(user, (mine = new Map()));
    const n = (mine.get(tag) ?? 0) + 1;
    mine.set(tag, n);
    if (n > 1) {
      this.duplicated++;
      if (this.duplicates.length < 10) this.duplicates.push(`user ${user} got ${tag} again: ${how}`);
    }
  }

  /** Acked sends every member must have had exactly once; unacked ones (their socket cut) all or none. */
  lost(convs: Map<number, Conv>): number {
    let lost = 0;
    for (const [tag, s] of this.sent) {
      if (s.refused) continue;
      const got = convs.get(s.conversation)!.members.map((u) => this.received.get(u)?.get(tag) ?? 0);
      const missing = got.filter((n) => n === 0).length;
      if (s.acked ? missing > 0 : missing > 0 && missing < got.length) lost++;
    }
    return lost;
  }
}

const TAG = /^soak (\S+)/;
/** Up to 4 KB of text (2 KB on average): a pasted paragraph, and what a leak keeping messages would keep. */
const MAX_CONTENT = 4_000;
const rand = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(xs: T[]): T => xs[rand(xs.length)];

class Api {
  constructor(
    readonly base: string,
    readonly ledger: Ledger,
  ) {}

  async call(method: string, p: string, token: string | null, body?: unknown): Promise<{ status: number; body: any }> {
    const form = body instanceof FormData;
    const res = await fetch(this.base + p, {
      method,
      // No keep-alive: an idle pooled socket would count among the server's handles at rest.
      headers: { connection: 'close', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body && !form ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 500) {
      this.ledger.serverErrors++;
      throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 200)}`);
    }
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
}

/** One user's device: connects, acts for a while, disconnects, comes back with its cursors. */
class Client {
  ws: WebSocket | null = null;
  readonly cursors = new Map<number, { last_seq: number; last_change_seq: number }>();
  readonly recent = new Map<number, number[]>();
  readonly pending = new Set<string>();
  epoch = '';
  lastFrameAt = 0;
  #n = 0;

  constructor(
    readonly id: number,
    readonly token: string,
    readonly convs: Conv[],
    readonly api: Api,
    readonly wsBase: string,
    readonly files: { png: Buffer; text: Buffer },
  ) {}

  get ledger() {
    return this.api.ledger;
  }

  /** Opens a socket and subscribes with the cursors held (none the first time: from now). */
  async connect(): Promise<void> {
    const ws = new WebSocket(`${this.wsBase}/api/parley/ws?token=${encodeURIComponent(this.token)}`);
    this.ws = ws;
    this.ledger.connects++;
    const subscribed = new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed ${code} before subscribed`)));
      const connection = this.ledger.connects;
      ws.on('message', (data) => {
        // A socket given up on (closed, or its close not answered in time) may still be read
        // from; what it brings now is the next socket's to replay, as for any client.
        if (this.ws !== ws) return;
        const f = JSON.parse(data.toString());
        this.lastFrameAt = Date.now();
        if (f.type === 'ready') {
          this.epoch = f.epoch;
          const cursors = [...this.cursors].map(([conversation_id, c]) => ({ conversation_id, ...c }));
          ws.send(JSON.stringify({ type: 'subscribe', cursors, epoch: this.epoch }));
        } else if (f.type === 'subscribed') {
          for (const c of f.conversations as { id: number; last_seq: number; change_seq: number }[]) {
            if (!this.cursors.has(c.id)) this.cursors.set(c.id, { last_seq: c.last_seq, last_change_seq: c.change_seq });
          }
          resolve();
        } else this.#frame(f, connection);
      });
    });
    await subscribed;
  }

  #frame(f: any, connection: number): void {
    if (f.type === 'message' || f.type === 'message_changed') {
      const m = f.message;
      const c = this.cursors.get(m.conversation_id);
      const before = c?.last_seq;
      if (c) {
        if (f.type === 'message') c.last_seq = Math.max(c.last_seq, m.seq);
        c.last_change_seq = Math.max(c.last_change_seq, m.change_seq);
      }
      if (f.type !== 'message') return;
      const tag = TAG.exec(m.content ?? '')?.[1];
      if (!tag) return;
      this.ledger.receive(this.id, tag, `socket #${connection}, seq ${m.seq}, cursor was ${before}`);
      const recent = this.recent.get(m.conversation_id) ?? [];
      recent.push(m.id);
      if (recent.length > 20) recent.shift();
      this.recent.set(m.conversation_id, recent);
      if (m.sender.id === this.id && m.local_temp_id) {
        const s = this.ledger.sent.get(m.local_temp_id);
        if (s) s.acked = true;
        this.pending.delete(m.local_temp_id);
      }
    } else if (f.type === 'error') {
      this.ledger.errorFrames[f.code] = (this.ledger.errorFrames[f.code] ?? 0) + 1;
      if (f.local_temp_id) {
        const s = this.ledger.sent.get(f.local_temp_id);
        if (s) s.refused = true;
        this.pending.delete(f.local_temp_id);
      }
    } else if (f.type === 'snapshot_required') {
      this.ledger.snapshots++;
    }
  }

  #send(frame: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  #sendMessage(conv: Conv, attachments?: string[]): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    const tag = `${this.id}-${++this.#n}`;
    this.ledger.sent.set(tag, { conversation: conv.id, acked: false, refused: false });
    this.pending.add(tag);
    this.#send({ type: 'send', conversation_id: conv.id, content: `soak ${tag} ${'x'.repeat(rand(MAX_CONTENT))}`, local_temp_id: tag, ...(attachments ? { attachments } : {}) });
  }

  /** One action while connected, picked at random with the weights below. */
  async act(): Promise<void> {
    const conv = pick(this.convs);
    const r = rand(100);
    if (r < 45) {
      this.ledger.count('send');
      this.#sendMessage(conv);
    } else if (r < 60) {
      this.ledger.count('typing');
      this.#send({ type: 'typing', conversation_id: conv.id, is_typing: true });
      this.#send({ type: 'typing', conversation_id: conv.id, is_typing: rand(2) === 0 });
    } else if (r < 70) {
      const ids = this.recent.get(conv.id);
      if (!ids?.length) return;
      this.ledger.count('react');
      this.#send({ type: 'react', message_id: pick(ids), emoji: pick(['👍', '🎉', '❤️']), on: rand(3) > 0 });
    } else if (r < 78) {
      this.ledger.count('read');
      this.#send({ type: 'read', conversation_id: conv.id });
    } else if (r < 94) {
      this.ledger.count('rest read');
      await this.api.call('GET', rand(2) ? `/api/parley/conversations/${conv.id}/messages` : '/api/parley/conversations', this.token);
    } else {
      this.ledger.count('upload');
      const image = rand(2) === 0;
      const form = new FormData();
      form.append('file', new Blob([image ? this.files.png : this.files.text], { type: image ? 'image/png' : 'text/plain' }), image ? 'pixel.png' : 'notes.txt');
      const up = await this.api.call('POST', '/api/parley/files', this.token, form);
      if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
      this.#sendMessage(conv, up.body.files.map((f: { key: string }) => f.key));
    }
  }

  /** Closes cleanly after its sends were answered (or abruptly: those left unanswered may or may not have landed). */
  async disconnect(abrupt: boolean): Promise<void> {
    const ws = this.ws;
    if (!ws) return;
    if (abrupt) {
      this.ws = null;
      ws.terminate();
      this.pending.clear();
      return;
    }
    for (let i = 0; i < 100 && this.pending.size > 0; i++) await sleep(50);
    this.ws = null;
    this.pending.clear();
    const closed = new Promise((r) => ws.once('close', r));
    ws.close();
    await Promise.race([closed, sleep(5_000)]);
  }

  /** Churn until `stop()` says so: sessions of 2–8 s, abrupt drops one time in four, 0.2–2 s away. */
  async churn(stop: () => boolean, actEveryMs: number, held: () => Promise<void>): Promise<void> {
    while (!stop()) {
      await held();
      if (!this.ws) await this.connect();
      const end = Date.now() + 2_000 + rand(6_000);
      while (!stop() && Date.now() < end) {
        await held();
        await this.act();
        await sleep(actEveryMs / 2 + rand(actEveryMs));
      }
      await this.disconnect(rand(4) === 0);
      if (!stop()) await sleep(200 + rand(1_800));
    }
  }
}

// ------------------------------------------------------------------ sampling

/** Until no client has heard a frame for `quietMs` (at most 30 s), and none waits for an ack. */
async function settled(clients: Client[], quietMs: number): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until && clients.some((c) => Date.now() - c.lastFrameAt < quietMs || c.pending.size > 0)) await sleep(100);
}

function metricValue(text: string, name: string, label?: string): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (label && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  if (!found) throw new Error(`/metrics has no ${name}${label ? ` ${label}` : ''}`);
  return sum;
}

async function figures(proc: ParleyProcess, token: string, gc: boolean): Promise<Figures> {
  if (gc) {
    proc.signal('SIGUSR2');
    await sleep(300);
  }
  const res = await fetch(`${proc.url}/metrics`, { headers: { connection: 'close', authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics: ${res.status}`);
  const text = await res.text();
  return {
    rss: metricValue(text, 'parley_process_resident_memory_bytes'),
    heapUsed: metricValue(text, 'parley_nodejs_heap_size_used_bytes'),
    heapTotal: metricValue(text, 'parley_nodejs_heap_size_total_bytes'),
    external: metricValue(text, 'parley_nodejs_external_memory_bytes'),
    oldSpace: metricValue(text, 'parley_nodejs_heap_space_size_used_bytes', 'space="old"'),
    handles: metricValue(text, 'parley_nodejs_active_handles_total'),
    listeners: metricValue(text, 'parley_event_listeners'),
    connections: metricValue(text, 'parley_connections'),
    followers: metricValue(text, 'parley_hub_entries', 'map="followers"'),
  };
}

// ------------------------------------------------------------------ the run

const SOAK_DIR = path.dirname(fileURLToPath(import.meta.url));

export async function runSoak(options: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const o: SoakOptions = { ...SOAK_DEFAULTS, ...options };
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-soak-'));
  const metricsToken = 'soak-metrics-token';
  const proc = new ParleyProcess({
    index: 0,
    port: await freePort(),
    dataDir: path.join(dir, 'data'),
    logFile: path.join(dir, 'parley.log'),
    nodeArgs: ['--expose-gc', '--import', path.join(SOAK_DIR, 'gc-preload.mjs')],
    env: {
      JWT_SECRET: 'soak-run-secret-that-is-long-enough-for-hs256',
      LOG_LEVEL: 'warn',
      METRICS_TOKEN: metricsToken,
      REDIS_PREFIX: `soak-${process.pid}-${Date.now()}:`,
      // Every client is on 127.0.0.1 and churns faster than a person: limits high enough never
      // to refuse, yet on, so their buckets are part of what the churn may leave behind.
      RATE_USER_MESSAGES_PER_SECOND: '100000',
      RATE_REST_WRITES_PER_SECOND: '100000',
      RATE_CONNECTION_FRAMES_PER_SECOND: '100000',
      RATE_USER_READS_PER_SECOND: '100000',
      RATE_LOGIN_ADDRESS_ATTEMPTS: 'off',
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ...o.env,
    },
  });
  const ledger = new Ledger();
  const clients: Client[] = [];
  try {
    await proc.start();
    const api = new Api(proc.url, ledger);
    const stamp = `${process.pid}-${Date.now()}`;
    const users: { id: number; token: string }[] = [];
    for (let i = 0; i < o.users; i++) {
      const r = await api.call('POST', '/api/parley/auth/register', null, { email: `soak-${i}-${stamp}@soak.example`, password: `password-${i}-soak`, name: `Soak ${i}` });
      if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
      users.push({ id: r.body.user.id, token: r.body.token });
    }
    const convs = new Map<number, Conv>();
    const create = async (owner: number, body: object, members: number[]) => {
      const r = await api.call('POST', '/api/parley/conversations', users[owner].token, body);
      if (r.status !== 201 && r.status !== 200) throw new Error(`conversation: ${r.status} ${JSON.stringify(r.body)}`);
      convs.set(r.body.id, { id: r.body.id, members: members.map((i) => users[i].id) });
    };
    for (let i = 0; i + 1 < o.users; i += 2) await create(i, { kind: 'direct', user_id: users[i + 1].id }, [i, i + 1]);
    for (let g = 0; g < o.groups; g++) {
      const members = Array.from({ length: o.groupSize }, (_, k) => (g * 5 + k * 3) % o.users).filter((v, k, a) => a.indexOf(v) === k);
      await create(members[0], { kind: 'group', title: `soak ${g}`, member_ids: members.slice(1).map((i) => users[i].id) }, members);
    }
    const files = { png: await sharp({ create: { width: 16, height: 16, channels: 3, background: '#3a7' } }).png().toBuffer(), text: Buffer.from('soak notes\n'.repeat(40)) };
    const wsBase = proc.url.replace(/^http/, 'ws');
    for (const u of users) clients.push(new Client(u.id, u.token, [...convs.values()].filter((c) => c.members.includes(u.id)), api, wsBase, files));
    await Promise.all(clients.map((c) => c.connect()));
    o.log(`${o.users} users, ${convs.size} conversations; churn for ${o.durationMs / 1000} s (warm-up ${o.warmupMs / 1000} s), a sample every ${o.sampleEveryMs / 1000} s`);

    const started = Date.now();
    const warmupSamples: Sample[] = [];
    const series: Sample[] = [];
    /** Churn until `until`, sampling into `into`; then everyone back, caught up and idle. */
    const churnUntil = async (until: number, into: Sample[]): Promise<Figures> => {
      let stopped = false;
      let failure: unknown = null;
      // Each sample is taken with the clients holding still (connected or not): what is in
      // flight at that moment (frames queued on a busy server) is not counted as kept.
      let hold: Promise<void> | null = null;
      const held = async () => {
        while (hold) await hold;
      };
      const churn = clients.map((c) =>
        c.churn(() => stopped, o.actEveryMs, held).catch((e) => {
          failure ??= e;
          stopped = true;
        }),
      );
      const first = started + (into.length + 1) * o.sampleEveryMs;
      for (let next = Math.max(first, Date.now() + o.sampleEveryMs); next <= until && !stopped; next += o.sampleEveryMs) {
        await sleep(Math.max(0, next - Date.now()));
        let release = () => {};
        hold = new Promise<void>((r) => (release = r));
        await settled(clients, 500);
        const s: Sample = { t: (Date.now() - started) / 1000, ...(await figures(proc, metricsToken, o.gcBeforeSample)), sent: ledger.sent.size };
        hold = null;
        release();
        into.push(s);
        o.log(`${s.t.toFixed(0)} s: RSS ${mb(s.rss)} MB, heap ${mb(s.heapUsed)} MB, handles ${s.handles}, listeners ${s.listeners}, sockets ${s.connections}, sent ${s.sent}`);
      }
      await sleep(Math.max(0, until - Date.now()));
      stopped = true;
      await Promise.all(churn);
      if (failure) throw failure;
      // Everyone comes back with their cursors and catches up.
      for (const c of clients) if (!c.ws) await c.connect();
      await settled(clients, 2_000);
      return figures(proc, metricsToken, o.gcBeforeSample);
    };
    const quietBefore = await churnUntil(started + o.warmupMs, warmupSamples);
    const sentBefore = ledger.sent.size;
    o.log(`warmed up; at rest: RSS ${mb(quietBefore.rss)} MB, heap ${mb(quietBefore.heapUsed)} MB, handles ${quietBefore.handles}`);
    const quietAfter = await churnUntil(Date.now() + o.durationMs - o.warmupMs, series);
    const acked = [...ledger.sent.values()].filter((s) => s.acked).length;
    const counts = { series, quiet: { before: quietBefore, after: quietAfter, messages: ledger.sent.size - sentBefore }, sent: ledger.sent.size, acked, lost: ledger.lost(convs), duplicated: ledger.duplicated, duplicates: ledger.duplicates, serverErrors: ledger.serverErrors, errorFrames: ledger.errorFrames, snapshots: ledger.snapshots };
    const problems = proc.problems().filter((l) => l.startsWith('{'));
    if (problems.length > 0) o.log(`server logged ${problems.length} errors; first: ${problems[0].slice(0, 300)}`);
    return { ...counts, warmupSamples, actions: ledger.actions, connects: ledger.connects, load: loadavg(), verdict: judge(counts) };
  } finally {
    for (const c of clients) c.ws?.terminate();
    await proc.stop();
    await proc.closeLog();
    rmSync(dir, { recursive: true, force: true });
  }
}
