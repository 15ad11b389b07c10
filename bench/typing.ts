// npm run bench:typing: what typing costs a big group (issue 21, item 7). Document 003's own
// client sends start_typing on every keystroke (its handleTyping), ≈25 per message. One group
// of --members (500) members, every one with a 003 socket joined to it; in a burst, --typists
// of them each send --keystrokes start_typing then their message. Printed per burst: the
// typing_indicator frames the members received, all frames, and the server's CPU (its own
// process, /proc), next to the floor measured in the same run: the same burst with no
// keystroke (the messages alone). Stops by expiry are inside the burst (it lasts the typing
// TTL, --ttl), so a server that stops typing at expiry and one that stops it with the
// message are measured alike.
//
// `--before-dir DIR` also measures another checkout (a snapshot of the commit before the
// change, node_modules linked), interleaved with this one round by round, so the figures
// before and after come from one run on one machine.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { exitOnHelp, num } from '../scripts/lib/cli.js';
import { cpuSeconds, killAllChildrenNow, sleep, startChild, stopChild, waitForLine } from './lib/proc.js';

const HELP = `npm run bench:typing -- [options]

  --members N        members of the group, each with a socket (default 500)
  --typists N        members typing in each burst, at once (default 5)
  --keystrokes N     start_typing frames each typist sends before their message (default 25)
  --bursts N         measured bursts per round and checkout, each with its floor (default 4)
  --rounds N         rounds; each measures every checkout once, interleaved (default 2)
  --ttl MS           TYPING_TTL_MS of the servers; a burst lasts at least this (default 1000)
  --parley-dir DIR   the checkout measured as "after" (default: this one)
  --before-dir DIR   a checkout measured as "before" (e.g. a snapshot of the commit before)
`;

const { values } = parseArgs({
  options: {
    members: { type: 'string' },
    typists: { type: 'string' },
    keystrokes: { type: 'string' },
    bursts: { type: 'string' },
    rounds: { type: 'string' },
    ttl: { type: 'string' },
    'parley-dir': { type: 'string' },
    'before-dir': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
exitOnHelp(values.help, HELP);

const HERE = path.join(import.meta.dirname, '..');
const MEMBERS = num('members', values.members, 500);
const TYPISTS = Math.min(num('typists', values.typists, 5), MEMBERS);
const KEYSTROKES = num('keystrokes', values.keystrokes, 25);
const BURSTS = num('bursts', values.bursts, 4);
const ROUNDS = num('rounds', values.rounds, 2);
const TTL = num('ttl', values.ttl, 1000);
const checkouts: { label: string; dir: string }[] = [
  ...(values['before-dir'] ? [{ label: 'before', dir: path.resolve(values['before-dir']) }] : []),
  { label: values['before-dir'] ? 'after' : 'this', dir: path.resolve(values['parley-dir'] ?? HERE) },
];
const log = (m: string) => process.stdout.write(`[typing] ${m}\n`);

interface Counts {
  typing: number;
  messages: number;
  all: number;
  lastAt: number;
}

/** One member's socket; every frame is counted by the type its text starts with. */
function connect(base: string, tenant: string, conversation: string, token: string, counts: Counts): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws/chat/${tenant}/?token=${encodeURIComponent(token)}`);
    let joined = false;
    ws.on('message', (data: Buffer) => {
      const head = data.toString('utf8', 0, 40);
      if (!joined) {
        if (head.startsWith('{"type":"connection_established"')) ws.send(JSON.stringify({ type: 'join_conversation', conversation_id: conversation }));
        else if (head.startsWith('{"type":"conversation_joined"')) {
          joined = true;
          resolve(ws);
        } else if (head.startsWith('{"type":"error"')) reject(new Error(data.toString()));
        return;
      }
      counts.all++;
      counts.lastAt = performance.now();
      if (head.startsWith('{"type":"typing_indicator"')) counts.typing++;
      else if (head.startsWith('{"type":"new_message"')) counts.messages++;
    });
    ws.once('error', reject);
  });
}

interface Burst {
  typing: number;
  all: number;
  cpuMs: number;
}

/** Each typist sends `keystrokes` start_typing then a message; until every member has every message, the typing TTL has passed and the sockets are quiet. */
async function burst(pid: number, sockets: WebSocket[], conversation: string, counts: Counts, keystrokes: number, n: number): Promise<Burst> {
  Object.assign(counts, { typing: 0, messages: 0, all: 0, lastAt: performance.now() });
  const cpu0 = cpuSeconds(pid)!;
  const t0 = performance.now();
  for (let t = 0; t < TYPISTS; t++) {
    const s = sockets[t];
    for (let k = 0; k < keystrokes; k++) s.send(JSON.stringify({ type: 'start_typing', conversation_id: conversation }));
    s.send(JSON.stringify({ type: 'send_message', conversation_id: conversation, content: `burst ${n} from typist ${t}`, message_type: 'text', local_temp_id: `b${n}-${t}` }));
  }
  const deadline = t0 + TTL + 60_000;
  while (counts.messages < TYPISTS * sockets.length || performance.now() - t0 < TTL + 300 || performance.now() - counts.lastAt < 300) {
    if (performance.now() > deadline) throw new Error(`burst ${n}: ${counts.messages} of ${TYPISTS * sockets.length} messages delivered`);
    await sleep(20);
  }
  return { typing: counts.typing, all: counts.all, cpuMs: (cpuSeconds(pid)! - cpu0) * 1000 };
}

const results = new Map<string, { typed: Burst[]; floor: Burst[] }>();

async function measure(label: string, dir: string, round: number): Promise<void> {
  const child = startChild(process.execPath, ['--import', 'tsx', path.join(HERE, 'bench/lib/typing-server.ts'), dir, String(MEMBERS), String(TTL)], {
    cwd: HERE,
    logFile: path.join(os.tmpdir(), `parley-typing-${label}-${process.pid}.log`),
  });
  try {
    const ready = await waitForLine(child, /READY (.*)\n/, 120_000);
    const { url, tenant, conversation, tokens } = JSON.parse(ready[1]) as { url: string; tenant: string; conversation: string; tokens: string[] };
    const counts: Counts = { typing: 0, messages: 0, all: 0, lastAt: 0 };
    const sockets: WebSocket[] = [];
    for (let i = 0; i < tokens.length; i += 50) sockets.push(...(await Promise.all(tokens.slice(i, i + 50).map((t) => connect(url, tenant, conversation, t, counts)))));
    await burst(child.pid!, sockets, conversation, counts, KEYSTROKES, 0); // warm-up
    const r = results.get(label) ?? { typed: [], floor: [] };
    results.set(label, r);
    for (let b = 1; b <= BURSTS; b++) {
      r.typed.push(await burst(child.pid!, sockets, conversation, counts, KEYSTROKES, b));
      r.floor.push(await burst(child.pid!, sockets, conversation, counts, 0, b + 0.5));
    }
    log(`round ${round} ${label}: ${BURSTS} bursts and floors measured`);
    for (const s of sockets) s.terminate();
  } finally {
    await stopChild(child);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  log(`${MEMBERS} members (document 003 sockets), ${TYPISTS} typists × ${KEYSTROKES} start_typing + 1 message per burst, TYPING_TTL_MS ${TTL}`);
  for (const c of checkouts) log(`${c.label}: ${c.dir}`);
  const load0 = os.loadavg();
  for (let round = 1; round <= ROUNDS; round++) for (const c of checkouts) await measure(c.label, c.dir, round);
  const load1 = os.loadavg();
  const row = (cols: (string | number)[]) => cols.map((c, i) => String(c).padStart(i === 0 ? 8 : 14)).join(' ');
  process.stdout.write(`\nper burst (median of ${BURSTS * ROUNDS}); floor = the same burst without keystrokes, same run\n`);
  process.stdout.write(`${row(['', 'typing frames', 'all frames', 'server CPU ms', 'floor CPU ms', 'typing CPU ms'])}\n`);
  const typingCpu = new Map<string, number>();
  for (const c of checkouts) {
    const r = results.get(c.label)!;
    const cpu = median(r.typed.map((b) => b.cpuMs));
    const floor = median(r.floor.map((b) => b.cpuMs));
    typingCpu.set(c.label, cpu - floor);
    process.stdout.write(
      `${row([c.label, median(r.typed.map((b) => b.typing)), median(r.typed.map((b) => b.all)), cpu.toFixed(0), floor.toFixed(0), (cpu - floor).toFixed(0)])}\n`,
    );
  }
  if (checkouts.length === 2) {
    const [before, after] = [results.get('before')!, results.get('after')!];
    const ratio = (f: (r: { typed: Burst[] }) => number) => (f(before) / f(after)).toFixed(1);
    process.stdout.write(
      `before/after: typing frames ×${ratio((r) => median(r.typed.map((b) => b.typing)))}, burst CPU ×${ratio((r) => median(r.typed.map((b) => b.cpuMs)))}, typing CPU (burst − floor) ×${(typingCpu.get('before')! / typingCpu.get('after')!).toFixed(1)}\n`,
    );
  }
  process.stdout.write(`load average (1, 5, 15 min): ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ${load1.map((l) => l.toFixed(2)).join(' ')} at end; ${os.cpus().length} cores\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    killAllChildrenNow();
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
