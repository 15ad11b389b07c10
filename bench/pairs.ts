// `npm run bench`: Parley against a bare ws relay (the floor) on the same machine, with the
// same load generator, and one table of figures. See bench/README.md.
//
//   npm run bench -- [--pairs 50] [--duration 10] [--warmup 1] [--window 1 | --rate R]
//                    [--latency-at-half] [--idle C] [--servers parley,floor] [--no-build]
//                    [--profile DIR] [--json FILE] [--keep]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Load, type Kind, type LoadOptions, type PhaseResult } from './lib/load.js';
import { waitForQuiet, freePort, killAllChildrenNow, rssKb, runSync, sleep, startChild, stopChild, waitForLine, waitPort } from './lib/proc.js';
import { fmt, summarize, type Summary } from './lib/stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const DEFAULTS = {
  pairs: 50,
  duration: 10,
  warmup: 1,
  window: 1,
  rate: 0,
  size: 64,
  drain: 5,
  'msg-timeout': 10,
  settle: 1,
  idle: 0,
  'latency-at-half': false,
  'half-rate': 0,
  servers: 'floor,parley',
  build: true,
  profile: '',
  'node-args': '',
  'wait-quiet': 0,
  'parley-dir': '',
  json: '',
  keep: false,
  'connect-concurrency': 50,
  'setup-concurrency': 8,
  help: false,
};
type Opts = { -readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] };

const HELP = `npm run bench -- [options]
  --pairs N            pairs of clients, each user sends to its partner (default 50)
  --duration S         measured seconds (10), after --warmup S (1)
  --window W           closed loop: messages per client not yet delivered (1)
  --rate R             open loop instead: R messages/s per client
  --latency-at-half    also run both servers open loop at half the floor's per-client rate
  --half-rate R        ... at R msg/s per client instead of half the floor's
  --size C             characters of message text (64)
  --idle C             idle mode: open C connections, report RSS per connection, no messages
  --servers LIST       floor,parley (default both; the floor first)
  --no-build           do not run the tsc build first
  --profile DIR        run Parley under node --cpu-prof into DIR and summarize its send window
  --node-args "…"      extra node flags for Parley
  --parley-dir DIR     build and run the Parley checkout in DIR instead of this one
  --wait-quiet S       before each server, wait up to S s for other processes to go quiet
  --json FILE          write the figures as JSON
  --keep               keep the temp dir (SQLite file, server logs)`;

function parseArgs(argv: string[]): Opts {
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    let key = a.slice(2);
    let val: string | undefined;
    const eq = key.indexOf('=');
    if (eq >= 0) [key, val] = [key.slice(0, eq), key.slice(eq + 1)];
    if (val === undefined && key.startsWith('no-') && typeof (DEFAULTS as Record<string, unknown>)[key.slice(3)] === 'boolean') {
      out[key.slice(3)] = false;
      continue;
    }
    if (!(key in DEFAULTS)) throw new Error(`unknown option --${key} (see --help)`);
    const d = (DEFAULTS as Record<string, unknown>)[key];
    if (typeof d === 'boolean' && val === undefined) {
      out[key] = true;
      continue;
    }
    val ??= argv[++i];
    if (val === undefined) throw new Error(`missing value for --${key}`);
    if (typeof d === 'number') {
      const n = Number(val);
      if (Number.isNaN(n)) throw new Error(`--${key} wants a number, got ${val}`);
      out[key] = n;
    } else out[key] = typeof d === 'boolean' ? val !== 'false' && val !== '0' : val;
  }
  return out as Opts;
}

interface ServerHandle {
  kind: Kind;
  child: ChildProcess;
  pid: number;
  url: string;
  log: string;
}

let PARLEY = ROOT;

/** Parley's environment, kept across its restart after setup (same port, database, secret). */
interface ParleyEnv {
  port: number;
  dbUrl: string;
  secret: string;
  starts: number;
}

async function startServer(kind: Kind, o: Opts, tmp: string, pe?: ParleyEnv): Promise<ServerHandle> {
  const log = path.join(tmp, `${kind}${pe ? `-${++pe.starts}` : ''}.log`);
  if (kind === 'floor') {
    const child = startChild(process.execPath, [path.join(ROOT, 'bench/floor-relay.mjs'), '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT, logFile: log });
    const m = await waitForLine(child, /LISTENING (\d+) (\d+)/, 20_000);
    return { kind, child, pid: child.pid!, url: `ws://127.0.0.1:${m[1]}`, log };
  }
  if (!pe) throw new Error('parley needs its environment');
  const port = pe.port;
  const dataDir = path.join(tmp, 'parley-data');
  mkdirSync(dataDir, { recursive: true });
  // relative paths (e.g. --import ./bench/preload/x.mjs) are relative to where the bench runs, not to Parley
  const nodeArgs = (o['node-args'] ? o['node-args'].split(/\s+/).filter(Boolean) : []).map((a) =>
    /^\.\.?\//.test(a) ? path.resolve(a) : a.replace(/^(--[a-z-]+=)(\.\.?\/.*)$/, (_m, k: string, v: string) => k + path.resolve(v)),
  );
  if (o.profile) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(o.profile)}`);
  const child = startChild(process.execPath, [...nodeArgs, path.join(PARLEY, 'dist/main.js')], {
    cwd: PARLEY,
    logFile: log,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: pe.dbUrl,
      JWT_SECRET: pe.secret,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // A benchmark client sends far faster than a person: per-user and per-socket rate
      // limits would measure the limiter, not the send path.
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    },
  });
  try {
    await waitPort(port, child, 90_000);
  } catch (e) {
    throw new Error(`parley did not start: ${(e as Error).message}\n${tail(log)}`);
  }
  return { kind, child, pid: child.pid!, url: `http://127.0.0.1:${port}`, log };
}

function tail(file: string, n = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

interface ServerResult {
  kind: Kind;
  clients: number;
  connectSeconds: number;
  connectFailed: number;
  rssBeforeKb: number | null;
  rssAfterKb: number | null;
  rssPerConnKb: number | null;
  main?: PhaseResult & { latS: Summary | null; ackS: Summary | null };
  half?: PhaseResult & { latS: Summary | null; ackS: Summary | null };
  logTail?: string;
}

const withSummaries = (r: PhaseResult) => ({ ...r, latS: summarize(r.lat), ackS: summarize(r.ackLat) });

async function benchServer(kind: Kind, o: Opts, lo: LoadOptions, tmp: string, halfRate: (own: PhaseResult) => number | null): Promise<ServerResult> {
  const pe: ParleyEnv | undefined =
    kind === 'parley'
      ? { port: await freePort(), dbUrl: `sqlite:${path.join(tmp, `parley-${Date.now()}.db`)}`, secret: randomBytes(32).toString('base64url'), starts: 0 }
      : undefined;
  let srv = await startServer(kind, o, tmp, pe);
  progress(`${kind}: listening at ${srv.url}, pid ${srv.pid}`);
  try {
    const clients = o.idle > 0 ? 2 * Math.ceil(o.idle / 2) : 2 * o.pairs;
    const load = new Load(kind, srv.url, lo, srv.pid, clients);
    const t0 = performance.now();
    await load.prepare();
    if (kind === 'parley') {
      progress(`parley: ${clients} accounts and ${clients / 2} rooms in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      // Restart on the same database: registration's argon2 hashing leaves tens of MiB of
      // malloc arenas in the process, which would hide the cost of the connections (and
      // would sit in a CPU profile). Tokens stay valid: same JWT_SECRET, same users.
      await stopChild(srv.child);
      srv = await startServer(kind, o, tmp, pe);
      load.serverPid = srv.pid;
      progress(`parley: restarted for the measurement, pid ${srv.pid}`);
    }
    await sleep(Math.max(500, o.settle * 1000));
    const rssBeforeKb = rssKb(srv.pid);
    const conn = await load.connect();
    await sleep((o.idle > 0 ? Math.max(2, o.settle) : o.settle) * 1000); // Parley authenticates after the upgrade
    const rssAfterKb = rssKb(srv.pid);
    const connected = clients - conn.failed;
    progress(`${kind}: ${connected}/${clients} connected in ${conn.seconds.toFixed(2)} s`);
    const out: ServerResult = {
      kind,
      clients,
      connectSeconds: conn.seconds,
      connectFailed: conn.failed,
      rssBeforeKb,
      rssAfterKb,
      rssPerConnKb: rssBeforeKb !== null && rssAfterKb !== null && connected > 0 ? (rssAfterKb - rssBeforeKb) / connected : null,
    };
    if (o.idle <= 0) {
      out.main = withSummaries(await load.run(o.rate));
      progress(`${kind}: ${out.main.mode}: ${fmt(out.main.msgPerSec)} msg/s, p99 ${fmt(out.main.latS?.p99)} ms`);
      if (o.profile && kind === 'parley') {
        writeFileSync(path.join(o.profile, 'window.json'), JSON.stringify({ windowMonoUs: out.main.windowMonoUs, mode: out.main.mode }));
      }
      const r = o['latency-at-half'] ? halfRate(out.main) : null;
      if (r) {
        out.half = withSummaries(await load.run(r));
        progress(`${kind}: ${out.half.mode}: ${fmt(out.half.msgPerSec)} msg/s, p99 ${fmt(out.half.latS?.p99)} ms`);
      }
    }
    await load.close();
    return out;
  } finally {
    await stopChild(srv.child, o.profile ? 60_000 : 15_000);
    const t = tail(srv.log, 5).trim();
    if (t && kind === 'parley') progress(`parley log (tail): ${t.split('\n').join(' | ').slice(0, 400)}`);
  }
}

let quietProgress = false;
let buildNote = '';

/** What was measured: the commit and whether the tree had changes on top of it. */
function gitState(): string {
  try {
    const where = PARLEY === ROOT ? '' : ` in ${PARLEY}`;
    const snap = path.join(PARLEY, '.snapshot-commit');
    if (existsSync(snap)) return `parley ${readFileSync(snap, 'utf8').trim()} (snapshot${where})`;
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PARLEY, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: PARLEY, encoding: 'utf8' }).trim();
    return `parley ${head}${dirty ? ` + ${dirty.split('\n').length} changed file(s) under src/` : ''}${where}`;
  } catch {
    return `parley in ${PARLEY} (no git)`;
  }
}
function progress(msg: string) {
  if (!quietProgress) process.stderr.write(`[bench] ${msg}\n`);
}

// ---------------------------------------------------------------------------- the table
function table(rows: (string | null)[][], head: string[]): string {
  const all = [head, ...rows.map((r) => r.map((c) => c ?? '-'))];
  const w = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map((r) => line(r as string[]))].join('\n');
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(2)}x`;
}

function report(o: Opts, res: Partial<Record<Kind, ServerResult>>, halfRate: number | null): string {
  const p = res.parley;
  const f = res.floor;
  const head = ['', 'parley', 'floor', 'parley/floor'];
  const rows: (string | null)[][] = [];
  const row = (label: string, get: (r: ServerResult) => number | null | undefined, digits = 2, withRatio = true) => {
    const a = p ? get(p) : null;
    const b = f ? get(f) : null;
    rows.push([label, fmt(a, digits), fmt(b, digits), withRatio ? ratio(a, b) : '']);
  };
  const errs = (r?: PhaseResult) => (r ? Object.values(r.errors).reduce((s, n) => s + n, 0) : null);
  const mib = (kb: number | null | undefined) => (kb == null ? null : kb / 1024);
  const lines: string[] = [];
  const n = o.idle > 0 ? 2 * Math.ceil(o.idle / 2) : 2 * o.pairs;
  if (o.idle > 0) {
    lines.push(`# idle: ${n} connections (${n / 2} pairs sharing a room), RSS ${Math.max(2, o.settle)} s after the last connect`);
    row('connections open', (r) => r.clients - r.connectFailed, 0, false);
    row('connect time (s)', (r) => r.connectSeconds);
    row('connects/s', (r) => (r.clients - r.connectFailed) / r.connectSeconds, 0);
    row('server RSS before (MiB)', (r) => mib(r.rssBeforeKb), 1);
    row('server RSS after (MiB)', (r) => mib(r.rssAfterKb), 1);
    row('RSS per connection (KiB)', (r) => r.rssPerConnKb, 1);
  } else {
    const mode = o.rate > 0 ? `open loop ${o.rate} msg/s per client` : `closed loop, window ${o.window}`;
    lines.push(`# pairs: ${o.pairs} pairs (${n} clients), ${mode}, ${o.size}-char messages, ${o.duration} s after ${o.warmup} s warm-up`);
    row('delivered msg/s', (r) => r.main?.msgPerSec, 0);
    row('  per client msg/s', (r) => r.main?.perClientPerSec, 1);
    row('send->receive p50 (ms)', (r) => r.main?.latS?.p50);
    row('send->receive p99 (ms)', (r) => r.main?.latS?.p99);
    row('send->receive max (ms)', (r) => r.main?.latS?.max);
    row('send->ack p50 (ms)', (r) => (r.kind === 'parley' ? r.main?.ackS?.p50 : null), 2, false);
    row('send->ack p99 (ms)', (r) => (r.kind === 'parley' ? r.main?.ackS?.p99 : null), 2, false);
    row('lost', (r) => r.main?.lost, 0, false);
    row('duplicated', (r) => r.main?.duplicated, 0, false);
    row('errors', (r) => errs(r.main), 0, false);
    row('server CPU (cores)', (r) => r.main?.serverCpuCores);
    row('load generator CPU (cores)', (r) => r.main?.loadCpuCores);
    row('other processes CPU (cores)', (r) => r.main?.otherCpuCores, 2, false);
    row('server CPU ms per delivery', (r) => (r.main?.serverCpuCores != null ? (r.main.serverCpuCores * 1000) / r.main.msgPerSec : null), 3);
    row('server RSS idle->connected (MiB)', (r) => mib(r.rssAfterKb), 1);
    row('server RSS end of window (MiB)', (r) => mib(r.main?.serverRssEndKb), 1);
    row(`RSS per connection (KiB)`, (r) => r.rssPerConnKb, 1);
  }
  lines.push(table(rows, head));
  if (o.idle <= 0 && o['latency-at-half']) {
    rows.length = 0;
    lines.push('', `# at half the floor's rate: open loop, ${halfRate === null ? '-' : fmt(halfRate, 1)} msg/s per client, same connections, ${o.duration} s after ${o.warmup} s warm-up`);
    row('offered msg/s', (r) => r.half?.offeredPerSec, 0, false);
    row('delivered msg/s', (r) => r.half?.msgPerSec, 0);
    row('send->receive p50 (ms)', (r) => r.half?.latS?.p50);
    row('send->receive p99 (ms)', (r) => r.half?.latS?.p99);
    row('send->receive max (ms)', (r) => r.half?.latS?.max);
    row('send->ack p99 (ms)', (r) => (r.kind === 'parley' ? r.half?.ackS?.p99 : null), 2, false);
    row(`lost (not delivered ${o.drain} s after the window)`, (r) => r.half?.lost, 0, false);
    row('server CPU (cores)', (r) => r.half?.serverCpuCores);
    row('other processes CPU (cores)', (r) => r.half?.otherCpuCores, 2, false);
    lines.push(table(rows, head));
  }
  const notes: string[] = [];
  for (const r of [p, f]) {
    for (const ph of [r?.main, r?.half]) {
      if (!r || !ph) continue;
      if (ph.errorSamples.length) notes.push(`${r.kind} ${ph.mode}: ${ph.errorSamples.join(' ; ')}`);
      if (ph.unexpected || ph.foreign || ph.ackDuplicates || ph.timedOut)
        notes.push(`${r.kind} ${ph.mode}: unexpected ${ph.unexpected}, foreign ${ph.foreign}, duplicate acks ${ph.ackDuplicates}, timed out ${ph.timedOut}`);
    }
    if (r?.connectFailed) notes.push(`${r.kind}: ${r.connectFailed} connections failed`);
  }
  if (notes.length) lines.push('', ...notes.map((s) => `! ${s}`));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------- main
async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(HELP);
    return;
  }
  const servers = o.servers.split(',').map((s) => s.trim()).filter(Boolean) as Kind[];
  for (const s of servers) if (s !== 'parley' && s !== 'floor') throw new Error(`unknown server ${s} (parley, floor)`);
  servers.sort((a, b) => (a === 'floor' ? -1 : b === 'floor' ? 1 : 0)); // the floor first: its rate sets --latency-at-half
  if (o['latency-at-half'] && !servers.includes('floor') && !(o['half-rate'] > 0)) throw new Error('--latency-at-half needs the floor (or --half-rate R)');

  if (o['parley-dir']) PARLEY = path.resolve(o['parley-dir']);
  if (o.build && servers.includes('parley')) {
    progress(`building Parley in ${PARLEY} (tsc -p tsconfig.build.json)`);
    try {
      runSync(process.execPath, [path.join(PARLEY, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], PARLEY);
    } catch (e) {
      // tsc still emits on type errors; run what it emitted, but say so.
      if (!existsSync(path.join(PARLEY, 'dist/main.js'))) throw e;
      progress(`WARNING: ${(e as Error).message}; running the dist/ it emitted anyway`);
      buildNote = ' (tsc reported type errors)';
    }
  }
  if (o.profile) mkdirSync(o.profile, { recursive: true });
  const tmp = mkdtempSync(path.join(tmpdir(), 'parley-bench-'));
  const lo: LoadOptions = {
    pairs: o.pairs,
    size: o.size,
    window: o.window,
    rate: o.rate,
    warmup: o.warmup,
    duration: o.duration,
    drain: o.drain,
    msgTimeout: o['msg-timeout'],
    settle: o.settle,
    connectConcurrency: o['connect-concurrency'],
    setupConcurrency: o['setup-concurrency'],
  };
  const started = new Date();
  const load1 = loadavg()[0];
  const res: Partial<Record<Kind, ServerResult>> = {};
  let halfRate: number | null = o['half-rate'] > 0 ? o['half-rate'] : null;
  try {
    for (const kind of servers) {
      if (o['wait-quiet'] > 0) await waitForQuiet(o['wait-quiet'], 0.15, progress);
      res[kind] = await benchServer(kind, o, lo, tmp, (own) => {
        // the floor runs first: its own closed-loop result sets the rate for both servers
        if (halfRate === null && kind === 'floor') halfRate = own.perClientPerSec / 2;
        return halfRate;
      });
      await sleep(500);
    }
  } finally {
    if (o.keep) progress(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n# npm run bench ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(`# ${started.toISOString()}, ${cpus().length} cores, node ${process.version}, loadavg at start ${load1.toFixed(2)}, ${gitState()}${buildNote}`);
  console.log(report(o, res, halfRate));
  if (o.json) {
    const strip = (r?: ServerResult) =>
      r && {
        ...r,
        main: r.main && { ...r.main, lat: undefined, ackLat: undefined },
        half: r.half && { ...r.half, lat: undefined, ackLat: undefined },
      };
    writeFileSync(o.json, JSON.stringify({ options: o, started, loadavgAtStart: load1, halfRate, parley: strip(res.parley), floor: strip(res.floor) }, null, 2));
  }
  if (o.profile) {
    const { summarizeProfileDir } = await import('./profile-summary.js');
    console.log('\n' + summarizeProfileDir(o.profile));
  }
}

const abort = (code: number) => {
  killAllChildrenNow();
  process.exit(code);
};
process.on('SIGINT', () => abort(130));
process.on('SIGTERM', () => abort(143));
process.on('exit', killAllChildrenNow);

main().then(
  () => abort(0),
  (e) => {
    console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    abort(1);
  },
);
