// Summarizes a V8 .cpuprofile (node --cpu-prof) of Parley: top self-time functions, time by
// category (each sample goes to the innermost frame that belongs to a known category), and
// inclusive time of the stages of the send path. With a window (µs of CLOCK_MONOTONIC, which
// is the profile's own time base on Linux), only the samples inside it are counted.
//
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--from US --to US] [--top 30]
//   node --import tsx bench/profile-summary.ts DIR      (newest .cpuprofile in DIR; DIR/window.json if present)
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Category of one frame, or null to attribute the sample to the caller (builtins, natives). */
function category(f: CallFrame): string | null {
  const { url, functionName: name } = f;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return '(program): native, unattributed';
  if (!url) {
    if (name === 'stringify') return 'JSON.stringify';
    if (name === 'parse') return 'JSON.parse';
    return null;
  }
  const rules: [RegExp, string][] = [
    [/node_modules\/kysely\//, 'Kysely (build + compile queries)'],
    [/node_modules\/better-sqlite3\//, 'SQLite (better-sqlite3 + runner)'],
    [/dist\/backends\/store\/sqlite-store/, 'SQLite (better-sqlite3 + runner)'],
    [/dist\/backends\/store\/(sql-store|sql\/)/, 'store logic (sql-store.js, sql/)'],
    [/node_modules\/ws\/lib\/(sender|buffer-util)/, 'ws send (framing)'],
    [/node_modules\/ws\/lib\/(receiver|validation)/, 'ws receive (frame parsing)'],
    [/node_modules\/ws\//, 'ws (other)'],
    [/node_modules\/@sinclair\/typebox/, 'validation (TypeBox)'],
    [/dist\/dialects\/shared\/frames/, 'validation (TypeBox)'],
    [/node_modules\/(ajv|ajv-formats|fast-json-stringify|fastify|@fastify|find-my-way|light-my-request|avvio|fast-querystring)\//, 'fastify / HTTP'],
    [/node_modules\/(pino|sonic-boom|thread-stream|pino-std-serializers)\//, 'logging (pino)'],
    [/node_modules\/uuid\//, 'uuid'],
    [/node_modules\/jose\//, 'JWT (jose)'],
    [/node_modules\/@node-rs\/argon2/, 'argon2'],
    [/dist\/dialects\/chat\/render/, 'event rendering (render.js)'],
    [/dist\/dialects\/chat\/socket/, 'chat socket handlers'],
    [/dist\/dialects\/shared\/socket/, 'frame dispatch (shared/socket.js)'],
    [/dist\/dialects\//, 'dialects (other)'],
    [/dist\/delivery\//, 'hub / delivery'],
    [/dist\/core\/messages\//, 'core: messages + writer'],
    [/dist\/core\/conversations\//, 'core: conversations'],
    [/dist\/backends\/store\/(cached-store|ttl-cache)/, 'store: caches'],
    [/dist\/core\//, 'core (other)'],
    [/dist\/backends\//, 'backends (other)'],
    [/^node:(net|stream|internal\/(stream_base_commons|net|streams\/|js_stream))/, 'socket I/O (net, streams)'],
    [/^node:internal\/(timers|process\/task_queues|async_hooks|process\/promises)/, 'event loop (timers, microtasks)'],
    [/^node:/, 'node internals (other)'],
    [/\/dist\//, 'parley (other)'],
  ];
  for (const [re, c] of rules) if (re.test(url)) return c;
  return 'other';
}

/** Stages of the send path, inclusive: a sample counts when any frame of its stack matches.
 *  An async function is on the stack only until its first await; what runs after an await
 *  (a resumed continuation) is counted under the stage that is on the stack then. */
const STAGES: [string, (f: CallFrame) => boolean][] = [
  ['ws receive (Receiver, all of it)', (f) => /ws\/lib\/receiver/.test(f.url)],
  ['frame dispatch: shared/socket.js handle()', (f) => /dialects\/shared\/socket/.test(f.url) && f.functionName === 'handle'],
  ['  JSON.parse of incoming frames (parseFrame)', (f) => /shared\/frames/.test(f.url) && f.functionName === 'parseFrame'],
  ['  validation: FrameValidator (parse/data/flat)', (f) => /shared\/frames/.test(f.url) && /^(parse|data|flat)$/.test(f.functionName)],
  ['  send_message handler (chat/socket.js)', (f) => /chat\/socket/.test(f.url) && f.functionName === 'send_message'],
  ['    Messages.send (before the writer)', (f) => /core\/messages\/messages/.test(f.url) && f.functionName === 'send'],
  ['      Conversations.access / memberRef', (f) => /conversations\/conversations/.test(f.url) && /^(access|memberRef)$/.test(f.functionName)],
  ['MessageWriter drain (group commit)', (f) => /messages\/writer/.test(f.url) && /drain/.test(f.functionName)],
  ['  SqlAppend.appendMessages', (f) => /store\/sql\/append/.test(f.url) && f.functionName === 'appendMessages'],
  ['  SqliteRunner.transaction', (f) => /sqlite-store/.test(f.url) && f.functionName === 'transaction'],
  ['Hub.publish / bus / #deliver / #render', (f) => /delivery\/hub|bus\/memory-bus/.test(f.url) && /publish|deliver|render/.test(f.functionName)],
  ['  renderer frame() (chat/socket.js messageFrame)', (f) => /chat\/socket/.test(f.url) && /messageFrame|frame/.test(f.functionName)],
  ['    renderMessage (render.js)', (f) => /chat\/render/.test(f.url) && f.functionName === 'renderMessage'],
  ['  Connection.send -> ws send', (f) => /delivery\/connection/.test(f.url) && f.functionName === 'send'],
  ['ws send (Sender, all of it)', (f) => /ws\/lib\/sender/.test(f.url)],
  ['DeliveryReceipts (delivered marks + flush)', (f) => /messages\/receipts/.test(f.url)],
  ['Kysely, anywhere', (f) => /node_modules\/kysely\//.test(f.url)],
  ['SQLite runner, anywhere (sqlite-store.js)', (f) => /backends\/store\/sqlite-store/.test(f.url)],
  ['TypeBox, anywhere', (f) => /@sinclair\/typebox|shared\/frames/.test(f.url)],
  ['JSON.stringify, anywhere', (f) => !f.url && f.functionName === 'stringify'],
  ['JSON.parse, anywhere', (f) => !f.url && f.functionName === 'parse'],
  ['fastify/HTTP, anywhere', (f) => /node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio)\//.test(f.url)],
  ['uuid v7, anywhere', (f) => /node_modules\/uuid\//.test(f.url)],
  ['GC', (f) => f.functionName === '(garbage collector)'],
];

const short = (url: string) =>
  url
    .replace(/^file:\/\/.*?\/node_modules\//, '')
    .replace(/^file:\/\/.*?\/dist\//, 'dist/')
    .replace(/^file:\/\//, '');

export interface SummaryOptions {
  fromUs?: number;
  toUs?: number;
  top?: number;
}

export function summarizeProfile(file: string, opt: SummaryOptions = {}): string {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // per sample: node id and its duration (the next delta); keep those inside the window
  const from = opt.fromUs ?? -Infinity;
  const to = opt.toUs ?? Infinity;
  let t = prof.startTime;
  const selfUs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    const d = dt > 0 && dt < 100_000 ? dt : 0;
    selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + d);
    total += d;
  }
  if (total === 0) return `${file}: no samples in the window`;
  const idleUs = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((s, [, v]) => s + v, 0);
  const busy = total - idleUs;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1)}%`.padStart(6);

  // 1. self time by function
  const fnSelf = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    const key = `${f.functionName || '(anonymous)'}  ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : '(native/builtin)'}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  }
  // 2. categories (innermost known frame) and 3. inclusive stages
  const cat = new Map<string, number>();
  const stage = new Array<number>(STAGES.length).fill(0);
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    let c: string | null = null;
    const hit = new Array<boolean>(STAGES.length).fill(false);
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)!.callFrame;
      if (c === null) c = category(f);
      for (let s = 0; s < STAGES.length; s++) if (!hit[s] && STAGES[s][1](f)) hit[s] = true;
    }
    c ??= 'builtins / natives (no known caller)';
    cat.set(c, (cat.get(c) ?? 0) + us);
    for (let s = 0; s < STAGES.length; s++) if (hit[s]) stage[s] += us;
  }

  const out: string[] = [];
  const secs = (us: number) => (us / 1e6).toFixed(2);
  out.push(`# CPU profile ${path.basename(file)}: ${secs(total)} s sampled${opt.fromUs !== undefined ? ' (measured window only)' : ''}, ${secs(busy)} s busy (${((100 * busy) / total).toFixed(0)}% of wall), idle ${secs(idleUs)} s; percentages are of busy time`);
  out.push('', '## top self time (function, file:line)');
  for (const [k, us] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, opt.top ?? 30)) out.push(`${pct(us)}  ${k}`);
  out.push('', '## by category (each sample to its innermost frame of a known category)');
  for (const [k, us] of [...cat].sort((a, b) => b[1] - a[1])) out.push(`${pct(us)}  ${k}`);
  out.push('', '## send path stages, inclusive (a sample counts once per stage whose function is on its stack)');
  for (let s = 0; s < STAGES.length; s++) out.push(`${pct(stage[s])}  ${STAGES[s][0]}`);
  return out.join('\n');
}

/** The newest .cpuprofile of DIR, cut to DIR/window.json's window when it exists. */
/** The newest `count` profiles of `dir` (a cluster row writes one per process), each cut to the window. */
export function summarizeProfileDir(dir: string, top = 30, count = 1): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) return `no .cpuprofile in ${dir}`;
  const w = path.join(dir, 'window.json');
  const win = existsSync(w) ? (JSON.parse(readFileSync(w, 'utf8')) as { windowMonoUs: [number, number] }).windowMonoUs : null;
  return files
    .slice(0, count)
    .map((f) => (count > 1 ? `## ${path.basename(f)}\n` : '') + summarizeProfile(f, win ? { fromUs: win[0], toUs: win[1], top } : { top }))
    .join('\n\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const get = (k: string) => {
    const i = args.indexOf(`--${k}`);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const target = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  if (!target) {
    console.error('usage: profile-summary.ts FILE.cpuprofile|DIR [--from US --to US] [--top N]');
    process.exit(2);
  }
  console.log(
    statSync(target).isDirectory()
      ? summarizeProfileDir(target, get('top'))
      : summarizeProfile(target, { fromUs: get('from'), toUs: get('to'), top: get('top') }),
  );
}
