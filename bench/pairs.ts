// `npm run bench`: Parley against a bare ws relay (the floor) on the same machine, with the
// same load generator, and one table of figures. See bench/README.md.
//
//   npm run bench -- [--pairs 50 | --group M [--groups G]] [--processes N] [--db sqlite|postgres]
//                    [--matrix] [--duration 10] [--warmup 1] [--window 1 | --rate R]
//                    [--latency-at-half] [--idle C] [--servers floor,parley,cluster] [--no-build]
//                    [--profile DIR] [--json FILE] [--keep] [--rounds N] [--against DIR]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Load, type Dialect, type Kind, type LoadOptions, type PhaseResult } from './lib/load.js';
import { waitForQuiet, freePort, killAllChildrenNow, rssKbOf, runSync, sleep, startChild, stopChild, waitForLine, waitPort } from './lib/proc.js';
import { AuxCpu } from './lib/aux-cpu.js';
import { BENCH_METRICS_TOKEN, CommitSampler } from './lib/commits.js';
import { cleanupAll, cleanupAllSync, cleanupRedisPrefix, createScratchDb, dropScratchDb, redact, scratchRedisPrefix } from './lib/scratch.js';
import { fmt, summarize, type Summary } from './lib/stats.js';
import { targetsTable, type RowFigures, type TargetRows } from './lib/targets.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const DEFAULTS = {
  pairs: 50,
  group: 0,
  groups: 1,
  processes: 1,
  db: '',
  'pg-url': process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  'redis-url': process.env.REDIS_URL || 'redis://127.0.0.1:6379',
  matrix: false,
  targets: false,
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
  servers: '',
  build: true,
  profile: '',
  'node-args': '',
  'wait-quiet': 0,
  'parley-dir': '',
  against: '',
  rounds: 1,
  json: '',
  keep: false,
  colocate: false,
  'connect-concurrency': 50,
  'setup-concurrency': 8,
  help: false,
};
type Opts = { -readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] };

const HELP = `npm run bench -- [options]
 scenario
  --pairs N            pairs of clients, each user sends to its partner (default 50; /api/chat)
  --group M            instead of pairs: groups of M members, each sends to its group (003 dialect)
  --groups G           ... how many groups (1)
  --matrix             pairs and a group of --group M (50), each on the floor, 1 Parley process
                       (SQLite) and --processes N (at least 2) Parley processes (PostgreSQL + Redis)
  --targets            every row issue 21's targets read: pairs on the floor, 1 process on SQLite,
                       1 on PostgreSQL and --processes N (at least 2), at half the floor's rate too;
                       a group of 50 on the floor and 1 SQLite process. The targets table is printed
                       after any run that measured one of them
 servers
  --servers LIST       floor,parley,parley-pg,parley-pg-redis,parley-noindex,parley-nooutbox,parley-bare,cluster (default floor,parley, + cluster when --processes >= 2;
                       the floor first). parley = 1 process, parley-pg = 1 process on PostgreSQL, cluster = N processes,
                       parley-noindex = 1 process with SEARCH_INDEX=off (the search index's cost),
                       parley-nooutbox = NOTIFY=off WEBHOOKS=off (the outboxes' cost), parley-bare = both off
  --processes N        processes of the cluster row (1: no cluster row). Each has its own port,
                       all share one scratch PostgreSQL database and one Redis (a fresh prefix)
  --db sqlite|postgres database of the 1-process row (default sqlite; the cluster is always postgres)
  --pg-url URL         where scratch databases are created (env BENCH_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url URL      Redis of the cluster (env REDIS_URL, else redis://127.0.0.1:6379)
 load
  --duration S         measured seconds (10), after --warmup S (1)
  --window W           closed loop: messages per client not yet delivered to every recipient (1)
  --rate R             open loop instead: R messages/s per client
  --latency-at-half    also run open loop at half the floor's per-client send rate
  --half-rate R        ... at R msg/s per client instead of half the floor's
  --size C             characters of message text (64)
  --idle C             idle mode: open C connections, report RSS per connection, no messages
 other
  --no-build           do not run the tsc build first
  --profile DIR        run the 1-process Parley under node --cpu-prof into DIR and summarize its send window
                       (with --servers cluster alone: every process of the cluster, each summarized)
  --node-args "…"      extra node flags for every Parley process
  --parley-dir DIR     build and run the Parley checkout in DIR instead of this one
  --against DIR        before each Parley row, the same row from the checkout in DIR (built there
                       unless --no-build): before and after in one run, taking turns
  --rounds N           run every row N times, taking turns, and print each row's median and range
  --wait-quiet S       before each server, wait up to S s for other processes to go quiet
  --json FILE          write the figures as JSON
  --keep               keep the temp dir (SQLite file, server logs)
  --colocate           what-if: all members of a group on one process (group g on process g mod N), as if
                       each conversation's sends went to one owner process at no cost of forwarding; no
                       row of such a run is read for the targets`;

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
    if (key === 'scenarios') key = 'matrix';
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

// ---------------------------------------------------------------------------- what runs
type TargetId = 'floor' | 'parley' | 'parley-pg' | 'parley-pg-redis' | 'parley-noindex' | 'parley-nooutbox' | 'parley-bare' | 'cluster';

/** One row of the table: the floor, Parley in one process, or Parley in N processes. */
interface Target {
  id: TargetId;
  kind: Kind;
  processes: number;
  db: 'sqlite' | 'postgres' | null;
  redis: boolean;
  label: string;
  /** Parley's settings of this row beside the bench's own (parley-noindex: SEARCH_INDEX=off). */
  env?: Record<string, string>;
  /** The checkout this row runs (--against); otherwise --parley-dir's, or this one. */
  dir?: string;
}

/** What the clients do: pairs over /api/chat, or groups over the 003 dialect. */
interface Scenario {
  name: string;
  groupSize: number;
  groups: number;
  dialect: Dialect;
}

function target(id: TargetId, o: Opts, processes: number): Target {
  if (id === 'floor') return { id, kind: 'floor', processes: 1, db: null, redis: false, label: 'floor' };
  if (id === 'parley') {
    const db = (o.db || 'sqlite') as 'sqlite' | 'postgres';
    return { id, kind: 'parley', processes: 1, db, redis: false, label: `parley 1 proc ${db}` };
  }
  // One process on PostgreSQL whatever --db says: the cluster's own baseline (issue 21, item 3).
  if (id === 'parley-pg') return { id, kind: 'parley', processes: 1, db: 'postgres', redis: false, label: 'parley 1 proc postgres' };
  // The cluster's bus with one process: its rate against parley-pg's is Redis's cost, against
  // the cluster's what a second process costs.
  if (id === 'parley-pg-redis') return { id, kind: 'parley', processes: 1, db: 'postgres', redis: true, label: 'parley 1 proc pg+redis' };
  if (id === 'parley-noindex') {
    // The same Parley writing no search index: its send rate against parley's is the index's cost.
    const db = (o.db || 'sqlite') as 'sqlite' | 'postgres';
    return { id, kind: 'parley', processes: 1, db, redis: false, label: `parley 1 proc ${db} no search index`, env: { SEARCH_INDEX: 'off' } };
  }
  if (id === 'parley-nooutbox') {
    // No push outbox and no webhook events log: its rate against parley's is the outboxes' cost.
    const db = (o.db || 'sqlite') as 'sqlite' | 'postgres';
    return { id, kind: 'parley', processes: 1, db, redis: false, label: `parley 1 proc ${db} no outbox`, env: { NOTIFY: 'off', WEBHOOKS: 'off' } };
  }
  if (id === 'parley-bare') {
    // Neither the search index nor the outboxes: what the send costs without issues 18 and 19.
    const db = (o.db || 'sqlite') as 'sqlite' | 'postgres';
    return { id, kind: 'parley', processes: 1, db, redis: false, label: `parley 1 proc ${db} no index, no outbox`, env: { SEARCH_INDEX: 'off', NOTIFY: 'off', WEBHOOKS: 'off' } };
  }
  return { id, kind: 'parley', processes, db: 'postgres', redis: true, label: `parley ${processes} procs pg+redis` };
}

const pairsScenario = (o: Opts): Scenario => ({ name: 'pairs', groupSize: 2, groups: o.idle > 0 ? Math.ceil(o.idle / 2) : o.pairs, dialect: 'chat' });
const groupScenario = (o: Opts, m: number): Scenario => ({ name: `group ${m}`, groupSize: m, groups: o.groups, dialect: 'notifications' });

interface ServerHandle {
  child: ChildProcess;
  pid: number;
  url: string;
  log: string;
}

let PARLEY = ROOT;

/** Parley's environment, kept across its restart after setup (same ports, database, secret, prefix). */
interface ParleyEnv {
  label: string;
  ports: number[];
  dbUrl: string;
  dataDir: string;
  secret: string;
  redisUrl: string | null;
  redisPrefix: string | null;
  profile: boolean;
  starts: number;
  env?: Record<string, string>;
  /** The checkout it runs (Target.dir). */
  dir?: string;
}

const slug = (s: string) => s.replace(/[^a-z0-9]+/gi, '-');

function startFloor(tmp: string, scenario: Scenario): Promise<ServerHandle> {
  const log = path.join(tmp, `floor-${slug(scenario.name)}.log`);
  const child = startChild(process.execPath, [path.join(ROOT, 'bench/floor-relay.mjs'), '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT, logFile: log });
  return waitForLine(child, /LISTENING (\d+) (\d+)/, 20_000).then((m) => ({ child, pid: child.pid!, url: `ws://127.0.0.1:${m[1]}`, log }));
}

async function startParleyProcess(o: Opts, tmp: string, pe: ParleyEnv, i: number): Promise<ServerHandle> {
  const port = pe.ports[i];
  const log = path.join(tmp, `${slug(pe.label)}-p${i}-${pe.starts}.log`);
  // relative paths (e.g. --import ./bench/preload/x.mjs) are relative to where the bench runs, not to Parley
  const nodeArgs = (o['node-args'] ? o['node-args'].split(/\s+/).filter(Boolean) : []).map((a) =>
    /^\.\.?\//.test(a) ? path.resolve(a) : a.replace(/^(--[a-z-]+=)(\.\.?\/.*)$/, (_m, k: string, v: string) => k + path.resolve(v)),
  );
  if (pe.profile) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(o.profile)}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: pe.dbUrl,
    JWT_SECRET: pe.secret,
    DATA_DIR: pe.dataDir,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    // A benchmark client sends far faster than a person: per-user and per-socket rate
    // limits would measure the limiter, not the send path.
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    RATE_USER_READS_PER_SECOND: '0',
    // Every client connects from 127.0.0.1, thousands of them with --idle.
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
    HTTP_MAX_CONNECTIONS: '0',
    // /metrics on the main port, read at the window's start and end (lib/commits.ts); the
    // metrics are kept whether or not it is served.
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
    ...pe.env,
  };
  delete env.REDIS_URL;
  delete env.REDIS_PREFIX;
  if (pe.redisUrl) {
    env.REDIS_URL = pe.redisUrl;
    env.REDIS_PREFIX = pe.redisPrefix!;
  }
  const from = pe.dir ?? PARLEY;
  const child = startChild(process.execPath, [...nodeArgs, path.join(from, 'dist/main.js')], { cwd: from, logFile: log, env });
  try {
    await waitPort(port, child, 90_000);
  } catch (e) {
    throw new Error(`${pe.label} process ${i} did not start: ${(e as Error).message}\n${tail(log)}`);
  }
  return { child, pid: child.pid!, url: `http://127.0.0.1:${port}`, log };
}

/**
 * Starts every process of one Parley target: the first alone (it migrates the database, under
 * PostgreSQL's advisory lock), the others once it listens.
 */
async function startParley(o: Opts, tmp: string, pe: ParleyEnv, into: ServerHandle[]): Promise<void> {
  pe.starts++;
  into.length = 0;
  into.push(await startParleyProcess(o, tmp, pe, 0));
  const rest = await Promise.allSettled(pe.ports.slice(1).map((_, j) => startParleyProcess(o, tmp, pe, j + 1)));
  for (const r of rest) if (r.status === 'fulfilled') into.push(r.value);
  const failed = rest.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

function tail(file: string, n = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

type Phase = PhaseResult & { latS: Summary | null; ackS: Summary | null };

interface ServerResult {
  target: Target;
  clients: number;
  connectSeconds: number;
  connectFailed: number;
  rssBeforeKb: number | null;
  rssAfterKb: number | null;
  rssPerConnKb: number | null;
  main?: Phase;
  half?: Phase;
}

const withSummaries = (r: PhaseResult): Phase => ({ ...r, latS: summarize(r.lat), ackS: summarize(r.ackLat) });

async function benchServer(t: Target, sc: Scenario, o: Opts, tmp: string, halfRate: (own: PhaseResult) => number | null): Promise<ServerResult> {
  const lo: LoadOptions = {
    groupSize: sc.groupSize,
    groups: sc.groups,
    dialect: sc.dialect,
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
    colocate: o.colocate,
  };
  const procs: ServerHandle[] = [];
  let pe: ParleyEnv | null = null;
  let scratchDb: string | null = null;
  let aux: AuxCpu | null = null;
  const tag = `${sc.name} / ${t.label}`;
  try {
    if (t.kind === 'floor') procs.push(await startFloor(tmp, sc));
    else {
      const dir = path.join(tmp, slug(`${sc.name}-${t.label}`));
      mkdirSync(dir, { recursive: true });
      let dbUrl = `sqlite:${path.join(dir, `parley-${Date.now()}.db`)}`;
      if (t.db === 'postgres') {
        const db = await createScratchDb(o['pg-url']);
        scratchDb = db.name;
        dbUrl = db.url;
        progress(`${tag}: scratch database ${db.name} on ${redact(o['pg-url'])}`);
      }
      pe = {
        label: t.label,
        ports: await Promise.all(Array.from({ length: t.processes }, () => freePort())),
        dbUrl,
        dataDir: path.join(dir, 'parley-data'),
        secret: randomBytes(32).toString('base64url'),
        redisUrl: t.redis ? o['redis-url'] : null,
        redisPrefix: t.redis ? scratchRedisPrefix(o['redis-url']) : null,
        // The cluster is profiled only when no 1-process row runs (`--servers cluster`): one
        // profile per process, all summarized.
        profile: !!o.profile && !t.dir && (t.processes === 1 || (!!o.servers && !o.servers.split(',').some((s) => s.trim().startsWith('parley')))),
        starts: 0,
        env: t.env,
        dir: t.dir,
      };
      mkdirSync(pe.dataDir, { recursive: true });
      if (pe.redisPrefix) progress(`${tag}: Redis ${redact(pe.redisUrl!)}, prefix ${pe.redisPrefix}`);
      await startParley(o, tmp, pe, procs);
    }
    progress(`${tag}: listening at ${procs.map((p) => `${p.url} (pid ${p.pid})`).join(', ')}`);
    const clients = sc.groupSize * sc.groups;
    const load = new Load(
      t.kind,
      procs.map((p) => p.url),
      lo,
      procs.map((p) => p.pid),
    );
    if (procs.length > 1) {
      const per = procs.map((_, i) => load.clients.filter((c) => c.proc === i).length);
      const split = load.clients.filter((c) => c.pos > 0 && c.proc !== c.members[0].proc).length;
      progress(`${tag}: clients per process ${per.join('/')}; ${split} of ${clients - sc.groups} non-creator members on another process than their group's creator`);
    }
    const t0 = performance.now();
    await load.prepare();
    if (pe) {
      const what = sc.dialect === 'chat' ? `${sc.groups} direct rooms` : `${sc.groups} group(s) of ${sc.groupSize}`;
      progress(`${tag}: ${clients} accounts and ${what} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      // Restart on the same database: registration's argon2 hashing leaves tens of MiB of
      // malloc arenas in the process, which would hide the cost of the connections (and
      // would sit in a CPU profile). Tokens stay valid: same JWT_SECRET, same users.
      await Promise.all(procs.map((p) => stopChild(p.child)));
      await startParley(o, tmp, pe, procs);
      load.serverPids = procs.map((p) => p.pid);
      progress(`${tag}: restarted for the measurement, pid ${load.serverPids.join(', ')}`);
    }
    if (scratchDb || pe?.redisUrl) {
      aux = await AuxCpu.open(scratchDb, o['pg-url'], pe?.redisUrl ?? null);
      load.aux = aux;
    }
    if (pe) load.commits = new CommitSampler(procs.map((p) => p.url));
    await sleep(Math.max(500, o.settle * 1000));
    const pids = procs.map((p) => p.pid);
    const rssBeforeKb = rssKbOf(pids);
    const conn = await load.connect();
    await sleep((o.idle > 0 ? Math.max(2, o.settle) : o.settle) * 1000);
    const rssAfterKb = rssKbOf(pids);
    const connected = clients - conn.failed;
    progress(`${tag}: ${connected}/${clients} connected and ready in ${conn.seconds.toFixed(2)} s`);
    const out: ServerResult = {
      target: t,
      clients,
      connectSeconds: conn.seconds,
      connectFailed: conn.failed,
      rssBeforeKb,
      rssAfterKb,
      rssPerConnKb: rssBeforeKb !== null && rssAfterKb !== null && connected > 0 ? (rssAfterKb - rssBeforeKb) / connected : null,
    };
    if (o.idle <= 0) {
      out.main = withSummaries(await load.run(o.rate));
      progress(`${tag}: ${out.main.mode}: ${fmt(out.main.sentPerSec)} sent/s, ${fmt(out.main.msgPerSec)} delivered/s, p99 ${fmt(out.main.latS?.p99)} ms`);
      if (pe?.profile) {
        writeFileSync(path.join(o.profile, 'window.json'), JSON.stringify({ windowMonoUs: out.main.windowMonoUs, mode: out.main.mode }));
      }
      const r = o['latency-at-half'] ? halfRate(out.main) : null;
      if (r) {
        out.half = withSummaries(await load.run(r));
        progress(`${tag}: ${out.half.mode}: ${fmt(out.half.msgPerSec)} delivered/s, p99 ${fmt(out.half.latS?.p99)} ms`);
      }
    }
    await load.close();
    return out;
  } finally {
    await aux?.close();
    await Promise.all(procs.map((p) => stopChild(p.child, pe?.profile ? 60_000 : 15_000)));
    for (const p of procs) {
      const tl = tail(p.log, 5).trim();
      if (tl && t.kind === 'parley') progress(`${tag} log ${path.basename(p.log)} (tail): ${tl.split('\n').join(' | ').slice(0, 400)}`);
    }
    if (scratchDb) {
      await dropScratchDb(scratchDb).then(
        () => progress(`${tag}: dropped ${scratchDb}`),
        (e: Error) => progress(`${tag}: could not drop ${scratchDb}: ${e.message}`),
      );
    }
    if (pe?.redisPrefix) {
      await cleanupRedisPrefix(pe.redisPrefix).then(
        (n) => progress(`${tag}: deleted ${n} Redis key(s) under ${pe!.redisPrefix}`),
        (e: Error) => progress(`${tag}: could not delete the Redis keys under ${pe!.redisPrefix}: ${e.message}`),
      );
    }
  }
}

let buildNote = '';

/** What was measured: the commit and whether the tree had changes on top of it. */
function gitState(dir = PARLEY): string {
  try {
    const where = dir === ROOT ? '' : ` in ${dir}`;
    const snap = path.join(dir, '.snapshot-commit');
    if (existsSync(snap)) return `parley ${readFileSync(snap, 'utf8').trim()} (snapshot${where})`;
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: dir, encoding: 'utf8' }).trim();
    return `parley ${head}${dirty ? ` + ${dirty.split('\n').length} changed file(s) under src/` : ''}${where}`;
  } catch {
    return `parley in ${dir} (no git)`;
  }
}

/** A checkout's short name in a row's label: its commit, else its folder. */
function shortName(dir: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
  } catch {
    return path.basename(dir);
  }
}
function progress(msg: string) {
  process.stderr.write(`[bench] ${msg}\n`);
}

// ---------------------------------------------------------------------------- the tables
function table(rows: (string | null)[][], head: string[], leftCols = 1): string {
  const all = [head, ...rows.map((r) => r.map((c) => c ?? '-'))];
  const w = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < leftCols ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map((r) => line(r as string[]))].join('\n');
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(2)}x`;
}

const errs = (r?: PhaseResult) => (r ? Object.values(r.errors).reduce((s, n) => s + n, 0) : null);
const mib = (kb: number | null | undefined) => (kb == null ? null : kb / 1024);
const perDelivery = (ph: PhaseResult | undefined, k: 'reads' | 'writes') =>
  ph?.serverSyscalls && ph.deliveredInWindow > 0 ? ph.serverSyscalls[k] / ph.deliveredInWindow : null;
const cpuPerDelivery = (ph?: PhaseResult) => (ph?.serverCpuCores != null && ph.msgPerSec > 0 ? (ph.serverCpuCores * 1000) / ph.msgPerSec : null);
/** PostgreSQL backends + Redis server, cores (null when the target uses neither). */
const auxCores = (ph?: PhaseResult) => (ph && (ph.pgCpuCores !== null || ph.redisCpuCores !== null) ? (ph.pgCpuCores ?? 0) + (ph.redisCpuCores ?? 0) : null);
/** Everything that serves the messages: the server processes, plus PostgreSQL and Redis when used. */
const totalCpuPerDelivery = (ph?: PhaseResult) =>
  ph?.serverCpuCores != null && ph.msgPerSec > 0 ? ((ph.serverCpuCores + (auxCores(ph) ?? 0)) * 1000) / ph.msgPerSec : null;
const shortLabel = (t: Target) =>
  t.id === 'floor' ? 'floor' : t.id.startsWith('parley') ? `${t.db === 'postgres' ? 'parley pg' : 'parley'}${{ 'parley-noindex': ' noidx', 'parley-nooutbox': ' nobox', 'parley-bare': ' bare' }[t.id as string] ?? ''}` : `parley x${t.processes}`;

function describe(o: Opts, sc: Scenario): string {
  const mode = o.rate > 0 ? `open loop ${o.rate} msg/s per client` : `closed loop, window ${o.window}`;
  const who =
    sc.dialect === 'chat'
      ? `${sc.groups} pairs (${2 * sc.groups} clients, /api/chat direct rooms)`
      : `${sc.groups} group(s) of ${sc.groupSize} (${sc.groups * sc.groupSize} clients, 003 group conversations, ${sc.groupSize - 1} deliveries per message)`;
  return `${sc.name}: ${who}, ${mode}, ${o.size}-char messages, ${o.duration} s after ${o.warmup} s warm-up`;
}

/** The figures of one scenario: one column per server, then each Parley column ÷ the floor's. */
function detail(o: Opts, sc: Scenario, results: ServerResult[], halfRate: number | null): string {
  const floor = results.find((r) => r.target.id === 'floor');
  const others = results.filter((r) => r !== floor);
  const head = ['', ...results.map((r) => shortLabel(r.target)), ...(floor ? others.map((r) => `${shortLabel(r.target)}/floor`) : [])];
  const rows: (string | null)[][] = [];
  const row = (label: string, get: (r: ServerResult) => number | null | undefined, digits = 2, withRatio = true, optional = false) => {
    const vals = results.map((r) => get(r));
    if (optional && vals.every((v) => v == null)) return;
    const f = floor ? get(floor) : null;
    rows.push([label, ...vals.map((v) => fmt(v, digits)), ...(floor ? others.map((r) => (withRatio ? ratio(get(r), f) : '')) : [])]);
  };
  const lines: string[] = [];
  if (o.idle > 0) {
    const n = sc.groups * sc.groupSize;
    const rooms = sc.groupSize === 2 ? `${sc.groups} pairs sharing a room` : `${sc.groups} group(s) of ${sc.groupSize}`;
    lines.push(`# idle: ${n} connections (${rooms}), RSS ${Math.max(2, o.settle)} s after the last connect (connect time includes each socket's readiness reply)`);
    row('connections open', (r) => r.clients - r.connectFailed, 0, false);
    row('connect time (s)', (r) => r.connectSeconds);
    row('connects/s', (r) => (r.clients - r.connectFailed) / r.connectSeconds, 0);
    row('server RSS before (MiB)', (r) => mib(r.rssBeforeKb), 1);
    row('server RSS after (MiB)', (r) => mib(r.rssAfterKb), 1);
    row('RSS per connection (KiB)', (r) => r.rssPerConnKb, 1);
  } else {
    lines.push(`# ${describe(o, sc)}`);
    row('sent msg/s', (r) => r.main?.sentPerSec, 0);
    row('delivered msg/s', (r) => r.main?.msgPerSec, 0);
    row('  per client delivered msg/s', (r) => r.main?.perClientPerSec, 1);
    row('  per client sent msg/s', (r) => r.main?.perClientSentPerSec, 1);
    row('send->receive p50 (ms)', (r) => r.main?.latS?.p50);
    row('send->receive p99 (ms)', (r) => r.main?.latS?.p99);
    row('send->receive max (ms)', (r) => r.main?.latS?.max);
    row('send->ack p50 (ms)', (r) => (r.target.kind === 'parley' ? r.main?.ackS?.p50 : null), 2, false);
    row('send->ack p99 (ms)', (r) => (r.target.kind === 'parley' ? r.main?.ackS?.p99 : null), 2, false);
    row('lost (deliveries)', (r) => r.main?.lost, 0, false);
    row('duplicated', (r) => r.main?.duplicated, 0, false);
    row('errors', (r) => errs(r.main), 0, false);
    row('server CPU (cores, all processes)', (r) => r.main?.serverCpuCores);
    row('  of it main threads (event loops)', (r) => r.main?.serverMainThreadCores);
    row('PostgreSQL backends CPU (cores)', (r) => r.main?.pgCpuCores, 2, false, true);
    row('Redis server CPU (cores)', (r) => r.main?.redisCpuCores, 2, false, true);
    row('Redis PUBLISH/s (whole server)', (r) => r.main?.redisPublishesPerSec, 0, false, true);
    row('load generator CPU (cores)', (r) => r.main?.loadCpuCores);
    row('other processes CPU (cores)', (r) => r.main?.otherCpuCores, 2, false);
    row('server CPU ms per delivery', (r) => cpuPerDelivery(r.main), 3);
    // Where a send waits: the group commits (lib/commits.ts).
    row('group commits/s (all processes)', (r) => r.main?.commits?.perSec, 0, false, true);
    row('  messages per commit', (r) => r.main?.commits?.messagesEach, 1, false, true);
    row('  ms per commit, start to on disk', (r) => r.main?.commits?.msEach, 2, false, true);
    row('  commits running at once, per process', (r) => r.main?.commits?.runningEach, 2, false, true);
    row('reorder fills/s (a publish later than REORDER_WAIT_MS)', (r) => r.main?.commits?.reorderFillsPerSec, 1, false, true);
    // Counts, not times: what the machine's load does not move (round trips, socket writes).
    row('server write syscalls per delivery', (r) => perDelivery(r.main, 'writes'), 2, false);
    row('server read syscalls per delivery', (r) => perDelivery(r.main, 'reads'), 2, false);
    if (results.some((r) => auxCores(r.main) !== null)) row('  + PostgreSQL + Redis', (r) => totalCpuPerDelivery(r.main), 3);
    row('server RSS connected (MiB)', (r) => mib(r.rssAfterKb), 1);
    row('server RSS end of window (MiB)', (r) => mib(r.main?.serverRssEndKb), 1);
    row(`RSS per connection (KiB)`, (r) => r.rssPerConnKb, 1);
  }
  lines.push(table(rows, head));
  if (o.idle <= 0 && o['latency-at-half']) {
    rows.length = 0;
    lines.push('', `# ${sc.name} at half the floor's rate: open loop, ${halfRate === null ? '-' : fmt(halfRate, 1)} msg/s per client, same connections, ${o.duration} s after ${o.warmup} s warm-up`);
    row('offered msg/s', (r) => r.half?.offeredPerSec, 0, false);
    row('delivered msg/s', (r) => r.half?.msgPerSec, 0);
    row('send->receive p50 (ms)', (r) => r.half?.latS?.p50);
    row('send->receive p99 (ms)', (r) => r.half?.latS?.p99);
    row('send->receive max (ms)', (r) => r.half?.latS?.max);
    row('send->ack p99 (ms)', (r) => (r.target.kind === 'parley' ? r.half?.ackS?.p99 : null), 2, false);
    row(`lost (not delivered ${o.drain} s after the window)`, (r) => r.half?.lost, 0, false);
    row('server CPU (cores)', (r) => r.half?.serverCpuCores);
    row('other processes CPU (cores)', (r) => r.half?.otherCpuCores, 2, false);
    lines.push(table(rows, head));
  }
  return lines.join('\n');
}

interface ScenarioRun {
  scenario: Scenario;
  results: ServerResult[];
  halfRate: number | null;
}

/** The headline: one row per scenario and server. */
function summaryTable(runs: ScenarioRun[]): string {
  const head = ['scenario', 'server', 'clients', 'sent msg/s', 'delivered msg/s', 'vs floor', 'p50 ms', 'p99 ms', 'ack p99 ms', 'srv CPU', 'pg+redis CPU', 'CPU ms/deliv', 'load CPU', 'other CPU', 'lost', 'dup', 'errors'];
  const rows: (string | null)[][] = [];
  for (const { scenario, results } of runs) {
    const floor = results.find((r) => r.target.id === 'floor');
    for (const r of results) {
      const m = r.main;
      rows.push([
        scenario.name,
        r.target.label,
        String(r.clients - r.connectFailed),
        fmt(m?.sentPerSec, 0),
        fmt(m?.msgPerSec, 0),
        r === floor ? '1.00x' : ratio(m?.msgPerSec, floor?.main?.msgPerSec),
        fmt(m?.latS?.p50),
        fmt(m?.latS?.p99),
        r.target.kind === 'parley' ? fmt(m?.ackS?.p99) : '-',
        fmt(m?.serverCpuCores),
        fmt(auxCores(m)),
        fmt(totalCpuPerDelivery(m), 3),
        fmt(m?.loadCpuCores),
        fmt(m?.otherCpuCores),
        fmt(m?.lost, 0),
        fmt(m?.duplicated, 0),
        fmt(errs(m), 0),
      ]);
    }
  }
  return table(rows, head, 2);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Each row over its rounds (--rounds, --against): the median and range of delivered msg/s and
 * of CPU per delivery, against the floor's median; an --against row's twin is compared with it.
 */
function roundsTable(runs: ScenarioRun[], rounds: number): string {
  const head = ['scenario', 'server', 'rounds', 'delivered msg/s (median)', 'range', 'vs floor', 'vs @other', 'CPU ms/deliv (median)', 'lost', 'dup'];
  const rows: (string | null)[][] = [];
  const base = (label: string) => (rounds > 1 ? label.replace(/ #\d+$/, '') : label);
  for (const { scenario, results } of runs) {
    const byRow = new Map<string, ServerResult[]>();
    for (const r of results) byRow.set(base(r.target.label), [...(byRow.get(base(r.target.label)) ?? []), r]);
    const rate = (rs: ServerResult[]) => median(rs.map((r) => r.main?.msgPerSec ?? NaN).filter((x) => !Number.isNaN(x)));
    const floor = [...byRow.entries()].find(([, rs]) => rs[0].target.id === 'floor')?.[1];
    for (const [label, rs] of byRow) {
      const rates = rs.map((r) => r.main?.msgPerSec ?? NaN).filter((x) => !Number.isNaN(x));
      // The --against twin of this row (or this row's, seen from the twin).
      const twin = rs[0].target.dir ? byRow.get(label.replace(/ @\S+$/, '')) : [...byRow.entries()].find(([l, o]) => o[0].target.dir && l.replace(/ @\S+$/, '') === label)?.[1];
      rows.push([
        scenario.name,
        label,
        String(rs.length),
        fmt(rate(rs), 0),
        rates.length ? `${fmt(Math.min(...rates), 0)}–${fmt(Math.max(...rates), 0)}` : '-',
        floor && rs[0].target.id !== 'floor' ? ratio(rate(rs), rate(floor)) : '-',
        twin && !rs[0].target.dir ? ratio(rate(rs), rate(twin)) : '-',
        fmt(median(rs.map((r) => totalCpuPerDelivery(r.main) ?? NaN).filter((x) => !Number.isNaN(x))), 3),
        fmt(rs.reduce((n, r) => n + (r.main?.lost ?? 0), 0), 0),
        fmt(rs.reduce((n, r) => n + (r.main?.duplicated ?? 0), 0), 0),
      ]);
    }
  }
  return `# rounds: each row's runs took turns with the others'; "vs @other" = this checkout's median over --against's\n` + table(rows, head, 2);
}

/** Each kind of row issue 21 reads, from this run: medians over its rounds; rows run --against or with parts off are not it. */
function targetRows(runs: ScenarioRun[]): TargetRows {
  const med = (xs: (number | null | undefined)[]) => {
    const v = xs.filter((n): n is number => n != null && Number.isFinite(n));
    return v.length ? median(v) : null;
  };
  const figures = (rs: ServerResult[]): RowFigures | undefined => {
    if (rs.length === 0) return undefined;
    const halves = rs.map((r) => r.half).filter((h): h is Phase => !!h);
    return {
      rate: med(rs.map((r) => r.main?.msgPerSec)),
      half: halves.length
        ? {
            offered: med(halves.map((h) => h.offeredPerSec)),
            delivered: med(halves.map((h) => h.msgPerSec)),
            p99: med(halves.map((h) => h.latS?.p99)),
            ackP99: med(halves.map((h) => h.ackS?.p99)),
          }
        : null,
    };
  };
  const out: TargetRows = { pairs: {}, group: {} };
  for (const { scenario, results } of runs) {
    const plain = results.filter((r) => !r.target.dir && !r.target.env);
    const of = (test: (t: Target) => boolean) => figures(plain.filter((r) => test(r.target)));
    const floor = of((t) => t.id === 'floor');
    const sqlite = of((t) => t.kind === 'parley' && t.processes === 1 && t.db === 'sqlite');
    if (scenario.dialect === 'chat' && scenario.groupSize === 2) {
      const cluster = plain.find((r) => r.target.processes > 1);
      out.pairs = {
        floor,
        sqlite,
        postgres: of((t) => t.kind === 'parley' && t.processes === 1 && t.db === 'postgres'),
        cluster: of((t) => t.processes > 1),
        processes: cluster?.target.processes,
      };
    } else if (scenario.groupSize === 50 && scenario.groups === 1) out.group = { floor, sqlite, size: scenario.groupSize };
  }
  return out;
}

function notes(runs: ScenarioRun[]): string[] {
  const out: string[] = [];
  for (const { scenario, results } of runs) {
    for (const r of results) {
      const who = `${scenario.name} / ${r.target.label}`;
      for (const ph of [r.main, r.half]) {
        if (!ph) continue;
        if (ph.errorSamples.length) out.push(`${who} ${ph.mode}: ${ph.errorSamples.join(' ; ')}`);
        if (ph.unexpected || ph.foreign || ph.ackDuplicates || ph.timedOut)
          out.push(`${who} ${ph.mode}: unexpected ${ph.unexpected}, foreign ${ph.foreign}, duplicate acks ${ph.ackDuplicates}, timed out ${ph.timedOut}`);
        if (r.target.kind === 'parley' && ph.acked < ph.sent) out.push(`${who} ${ph.mode}: ${ph.sent - ph.acked} of ${ph.sent} sends never acknowledged`);
        if (r.target.kind === 'parley' && ph.lateAcks > 0) out.push(`${who} ${ph.mode}: ${ph.lateAcks} acks arrived after the last delivery (waited for)`);
      }
      if (r.connectFailed) out.push(`${who}: ${r.connectFailed} connections failed`);
    }
  }
  return out.map((s) => `! ${s}`);
}

// ---------------------------------------------------------------------------- main
async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(HELP);
    return;
  }
  if (o.db && o.db !== 'sqlite' && o.db !== 'postgres') throw new Error(`--db sqlite or postgres, not ${o.db}`);
  if (!(o.processes >= 1) || !Number.isInteger(o.processes)) throw new Error('--processes wants a whole number >= 1');
  if (o.group && (!Number.isInteger(o.group) || o.group < 2)) throw new Error('--group M wants M >= 2');
  if (!(o.groups >= 1)) throw new Error('--groups wants a number >= 1');
  if (o.matrix && o.idle > 0) throw new Error('--matrix measures messages; --idle is a mode of its own');
  if (o.group && o.idle > 0) throw new Error('--idle opens pairs; it does not take --group');
  if (o.matrix && o.profile) throw new Error('--profile needs a single Parley run (not --matrix)');
  if (o.targets && (o.matrix || o.group || o.idle > 0 || o.servers || o.rate > 0 || o.profile))
    throw new Error('--targets chooses its own scenarios, servers and loads (not with --matrix, --group, --idle, --servers, --rate or --profile)');
  if (o.targets) o['latency-at-half'] = true;

  const processes = o.matrix || o.targets ? Math.max(2, o.processes) : o.processes;
  const serverIds = (o.servers || (o.targets ? 'floor,parley,parley-pg,cluster' : o.matrix || processes >= 2 ? 'floor,parley,cluster' : 'floor,parley'))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as TargetId[];
  const known: TargetId[] = ['floor', 'parley', 'parley-pg', 'parley-pg-redis', 'parley-noindex', 'parley-nooutbox', 'parley-bare', 'cluster']; // the floor first: its rate sets --latency-at-half
  for (const s of serverIds) if (!known.includes(s)) throw new Error(`unknown server ${s} (${known.join(', ')})`);
  if (serverIds.includes('cluster') && processes < 2) throw new Error('the cluster row needs --processes N with N >= 2');
  if (!(o.rounds >= 1) || !Number.isInteger(o.rounds)) throw new Error('--rounds wants a whole number >= 1');
  const against = o.against ? path.resolve(o.against) : null;
  if (against && !existsSync(path.join(against, 'package.json'))) throw new Error(`--against ${against}: not a Parley checkout`);
  const targets = known
    .filter((id) => serverIds.includes(id))
    .map((id) => target(id, o, processes))
    // Before each Parley row, the same row from the other checkout: they take turns.
    .flatMap((t) => (against && t.kind === 'parley' ? [{ ...t, dir: against, label: `${t.label} @${shortName(against)}` }, t] : [t]));
  if (o['latency-at-half'] && !serverIds.includes('floor') && !(o['half-rate'] > 0)) throw new Error('--latency-at-half needs the floor (or --half-rate R)');
  const scenarios: Scenario[] = o.matrix || o.targets ? [pairsScenario(o), groupScenario(o, o.group || 50)] : [o.group ? groupScenario(o, o.group) : pairsScenario(o)];
  // --targets: item 4 reads the group on the floor and one SQLite process only, and item 2 pairs only.
  const runsRow = (sc: Scenario, t: Target) => !o.targets || sc.dialect === 'chat' || t.id === 'floor' || t.id === 'parley';
  const halfPhase = (sc: Scenario) => !o.targets || sc.dialect === 'chat';

  if (o['parley-dir']) PARLEY = path.resolve(o['parley-dir']);
  for (const dir of o.build && targets.some((t) => t.kind === 'parley') ? [PARLEY, ...(against ? [against] : [])] : []) {
    progress(`building Parley in ${dir} (tsc -p tsconfig.build.json)`);
    try {
      runSync(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], dir);
    } catch (e) {
      // tsc still emits on type errors; run what it emitted, but say so.
      if (!existsSync(path.join(dir, 'dist/main.js'))) throw e;
      progress(`WARNING: ${(e as Error).message}; running the dist/ it emitted anyway`);
      buildNote += ` (tsc reported type errors in ${dir})`;
    }
  }
  if (o.profile) mkdirSync(o.profile, { recursive: true });
  const tmp = mkdtempSync(path.join(tmpdir(), 'parley-bench-'));
  const started = new Date();
  const load1 = loadavg()[0];
  const runs: ScenarioRun[] = [];
  try {
    for (const sc of scenarios) {
      const run: ScenarioRun = { scenario: sc, results: [], halfRate: o['half-rate'] > 0 ? o['half-rate'] : null };
      runs.push(run);
      for (let round = 1; round <= o.rounds; round++) {
        for (const row of targets) {
          if (!runsRow(sc, row)) continue;
          const t = o.rounds > 1 ? { ...row, label: `${row.label} #${round}` } : row;
          if (o['wait-quiet'] > 0) await waitForQuiet(o['wait-quiet'], 0.15, progress);
          run.results.push(
            await benchServer(t, sc, o, tmp, (own) => {
              // the floor runs first: its own closed-loop send rate sets the rate for every server
              if (run.halfRate === null && t.id === 'floor') run.halfRate = own.perClientSentPerSec / 2;
              return halfPhase(sc) ? run.halfRate : null;
            }),
          );
          await sleep(500);
        }
      }
    }
  } finally {
    if (o.keep) progress(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n# npm run bench ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(`# ${started.toISOString()}, ${cpus().length} cores, node ${process.version}, loadavg at start ${load1.toFixed(2)}, ${gitState()}${against ? `; against ${gitState(against)}` : ''}${buildNote}`);
  for (const r of runs) console.log('\n' + detail(o, r.scenario, r.results, r.halfRate));
  if (o.idle <= 0) {
    console.log(
      `\n# summary: delivered msg/s = receipts by a member other than the sender, per second; p50/p99 = send -> receipt; CPU in cores over the window:` +
        `\n# srv = the server's processes, pg+redis = PostgreSQL backends of its database + the Redis server, CPU ms/deliv = (srv + pg+redis) / delivered, other = the rest of the machine`,
    );
    console.log(summaryTable(runs));
    if (o.rounds > 1 || against) console.log('\n' + roundsTable(runs, o.rounds));
    // The targets are stated for a closed loop of one message per client, 64 characters.
    const rows = targetRows(runs);
    const measured = rows.pairs.floor || rows.pairs.sqlite || rows.pairs.cluster || rows.group.sqlite;
    if (o.colocate) console.log('\n# --colocate: a what-if placement, the targets are not read from this run');
    else if (o.targets || (measured && o.window === 1 && !(o.rate > 0) && o.size === 64)) console.log('\n' + targetsTable(rows));
  }
  const n = notes(runs);
  if (n.length) console.log('\n' + n.join('\n'));
  if (o.json) {
    const strip = (r: ServerResult) => ({
      ...r,
      main: r.main && { ...r.main, lat: undefined, ackLat: undefined },
      half: r.half && { ...r.half, lat: undefined, ackLat: undefined },
    });
    writeFileSync(
      o.json,
      JSON.stringify({ options: o, started, loadavgAtStart: load1, parley: gitState(), scenarios: runs.map((r) => ({ ...r, results: r.results.map(strip) })) }, null, 2),
    );
  }
  if (o.profile) {
    const { summarizeProfileDir } = await import('./profile-summary.js');
    const profiled = targets.find((t) => t.kind === 'parley' && !t.dir && (t.processes === 1 || !serverIds.some((s) => s.startsWith('parley'))));
    console.log('\n' + summarizeProfileDir(o.profile, 30, profiled?.processes ?? 1));
  }
}

// Every exit path kills what the script started (by pid) and removes its scratch database and
// Redis keys: asynchronously on an error or the first Ctrl-C, synchronously from 'exit'.
let exiting = false;
const abort = async (code: number) => {
  if (exiting) {
    killAllChildrenNow();
    process.exit(code); // a second Ctrl-C: 'exit' still runs the synchronous cleanup
  }
  exiting = true;
  killAllChildrenNow();
  await Promise.race([cleanupAll(progress), sleep(10_000)]);
  process.exit(code);
};
process.on('SIGINT', () => void abort(130));
process.on('SIGTERM', () => void abort(143));
process.on('exit', () => {
  killAllChildrenNow();
  cleanupAllSync();
});

main().then(
  () => abort(0),
  (e) => {
    console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return abort(1);
  },
);
