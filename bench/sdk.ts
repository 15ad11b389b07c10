// `npm run bench:sdk`: what the typed SDK costs on top of Parley's own socket. N pairs chat
// over /api/parley for D seconds, closed loop (one message in flight per client), first
// with raw `ws` clients that speak the frames, then with ParleyClient (optimistic state,
// outbox, ChatState) — the same server process, the same run. Prints msg/s and the
// send → receipt latency of each, and the ratio.
//
//   npm run bench:sdk -- [--pairs 20] [--duration 8]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ParleyClient } from '@parley/sdk';
import { freePort, killAllChildrenNow, startChild, stopChild, waitPort } from './lib/proc.js';
import { Samples, fmt, summarize } from './lib/stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { pairs: { type: 'string', default: '20' }, duration: { type: 'string', default: '8' } } });
const PAIRS = Number(values.pairs);
const DURATION_MS = Number(values.duration) * 1000;

interface Account {
  token: string;
  id: number;
}

async function post(base: string, p: string, body: unknown, token?: string) {
  const res = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
}

async function setup(base: string, tag: string): Promise<{ a: Account; b: Account; conversation: number }[]> {
  const pairs = [];
  for (let i = 0; i < PAIRS; i++) {
    const reg = async (who: string) => {
      const r = await post(base, '/api/parley/auth/register', { email: `${tag}-${who}${i}@bench.example`, password: 'bench-password', name: `${who}${i}` });
      return { token: r.token as string, id: r.user.id as number };
    };
    const a = await reg('a');
    const b = await reg('b');
    const c = await post(base, '/api/parley/conversations', { kind: 'direct', user_id: b.id }, a.token);
    pairs.push({ a, b, conversation: c.id as number });
  }
  return pairs;
}

interface Result {
  delivered: number;
  latency: Samples;
}

/** Raw frames: each side sends when it received the other's last message. */
async function runRaw(base: string, wsBase: string): Promise<Result> {
  const pairs = await setup(base, 'raw');
  const latency = new Samples();
  let delivered = 0;
  let measuring = false;
  const sockets: WebSocket[] = [];
  const open = (acc: Account) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}/api/parley/ws?token=${acc.token}`);
      sockets.push(ws);
      ws.on('error', reject);
      ws.on('message', function first(d) {
        const f = JSON.parse(d.toString());
        if (f.type === 'ready') ws.send('{"type":"subscribe"}');
        if (f.type === 'subscribed') {
          ws.off('message', first);
          resolve(ws);
        }
      });
    });
  let n = 0;
  const send = (ws: WebSocket, conversation: number) => ws.send(JSON.stringify({ type: 'send', conversation_id: conversation, content: `${Date.now()} ${'x'.repeat(48)}`, local_temp_id: `r${n++}` }));
  for (const p of pairs) {
    const [wa, wb] = [await open(p.a), await open(p.b)];
    for (const [me, other, ws, peer] of [
      [p.a, p.b, wa, wb],
      [p.b, p.a, wb, wa],
    ] as const) {
      void other;
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString());
        if (f.type !== 'message' || f.message.sender.id === me.id) return;
        if (measuring) {
          delivered++;
          latency.push(Date.now() - Number(String(f.message.content).split(' ')[0]));
        }
        send(ws, p.conversation);
      });
      void peer;
    }
    send(wa, p.conversation);
    send(wb, p.conversation);
  }
  await sleep(1000);
  measuring = true;
  await sleep(DURATION_MS);
  measuring = false;
  for (const ws of sockets) ws.close();
  return { delivered, latency };
}

/** The SDK: each side sends (client.send) when its state shows the other's last message. */
async function runSdk(base: string): Promise<Result> {
  const pairs = await setup(base, 'sdk');
  const latency = new Samples();
  let delivered = 0;
  let measuring = false;
  const clients: ParleyClient[] = [];
  for (const p of pairs) {
    for (const acc of [p.a, p.b]) {
      const c = new ParleyClient({ baseUrl: base, token: acc.token, WebSocket: WebSocket as never });
      clients.push(c);
      await c.connect();
      c.on('message', (e) => {
        const m = (e as { message: { sender: { id: number }; content: string | null } }).message;
        if (m.sender.id === acc.id) return;
        if (measuring) {
          delivered++;
          latency.push(Date.now() - Number(String(m.content).split(' ')[0]));
        }
        c.send(p.conversation, { content: `${Date.now()} ${'x'.repeat(48)}` }).promise.catch(() => {});
      });
    }
    for (const c of clients.slice(-2)) c.send(p.conversation, { content: `${Date.now()} start` }).promise.catch(() => {});
  }
  await sleep(1000);
  measuring = true;
  await sleep(DURATION_MS);
  measuring = false;
  for (const c of clients) c.disconnect();
  return { delivered, latency };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-bench-sdk-'));
  const port = await freePort();
  const child = startChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    logFile: path.join(dir, 'parley.log'),
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${dir}/parley.db`,
      REDIS_URL: '',
      JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256',
      LOG_LEVEL: 'warn',
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      RATE_CONNECTION_FRAMES_PER_SECOND: '0',
      RATE_USER_READS_PER_SECOND: '0',
      // Every client connects from 127.0.0.1.
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
      HTTP_MAX_CONNECTIONS: '0',
    },
  });
  try {
    await waitPort(port, child, 60_000);
    const base = `http://127.0.0.1:${port}`;
    const raw = await runRaw(base, `ws://127.0.0.1:${port}`);
    const sdk = await runSdk(base);
    const row = (name: string, r: Result) => {
      const s = summarize(r.latency.view());
      return `${name.padEnd(22)} ${fmt(r.delivered / (DURATION_MS / 1000), 0).padStart(10)} ${fmt(s?.p50).padStart(8)} ${fmt(s?.p99).padStart(8)}`;
    };
    console.log(`\n# ${PAIRS} pairs over /api/parley, closed loop, ${DURATION_MS / 1000} s each, one server (SQLite)`);
    console.log(`${'client'.padEnd(22)} ${'msg/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
    console.log(row('raw ws frames', raw));
    console.log(row('ParleyClient (SDK)', sdk));
    console.log(`SDK / raw throughput: ${fmt(sdk.delivered / Math.max(1, raw.delivered), 2)}x`);
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  killAllChildrenNow();
  process.exit(1);
});
