// Processes the bench spawns (Parley, the floor, the tsc build) and what it reads about
// them from /proc. Every child is tracked so that the script can always kill what it
// started, by pid, on any exit path.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

const children = new Set<ChildProcess>();

/** Starts a child whose output goes to `logFile`; it is killed when the bench exits. */
export function startChild(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string }): ChildProcess {
  const log = createWriteStream(opts.logFile);
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      children.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Last resort on an abnormal exit: SIGKILL every child still alive (synchronous). */
export function killAllChildrenNow(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  children.clear();
}

/** Waits for a line of the child's stdout matching `re` (e.g. the floor's LISTENING line). */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`no line matching ${re} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) done(null, m);
    };
    const onExit = (code: number | null) => done(new Error(`exited with ${code} before printing ${re}`));
    const done = (e: Error | null, m?: RegExpExecArray) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(m!);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A free loopback TCP port (bound and released; good enough on a quiet machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Until `port` accepts a TCP connection, the child died, or the time is up. */
export async function waitPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** VmRSS of one process in KiB (null when it is gone). */
export function rssKb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** VmHWM (peak RSS) of one process in KiB. */
export function peakRssKb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (utime + stime, all threads) of one process so far. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15; USER_HZ = 100
  } catch {
    return null;
  }
}

/**
 * Read and write system calls (syscr, syscw of /proc/<pid>/io: read/readv/recv…, write/writev/
 * send…) of the processes so far. A count, not a time: what a change saves in round trips and
 * socket writes shows here whatever else the machine runs.
 */
export function syscallsOf(pids: readonly number[]): { reads: number; writes: number } | null {
  let reads = 0;
  let writes = 0;
  for (const pid of pids) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      reads += Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? NaN);
      writes += Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? NaN);
    } catch {
      return null;
    }
  }
  return Number.isFinite(reads) && Number.isFinite(writes) ? { reads, writes } : null;
}

/** Runs a command to completion with inherited output; throws on failure. */
export function runSync(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

/** CPU seconds the whole machine spent busy so far (all cores; /proc/stat, USER_HZ = 100). */
export function machineBusySeconds(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / 100;
  } catch {
    return null;
  }
}

/** Waits (up to maxSeconds) until the machine has used under `cores` CPU for 2 s in a row. */
export async function waitForQuiet(maxSeconds: number, cores = 0.15, log: (m: string) => void = () => {}): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let quiet = 0;
  let last = machineBusySeconds();
  let said = false;
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = machineBusySeconds();
    const used = now !== null && last !== null ? now - last : 0;
    last = now;
    if (used < cores) {
      if (++quiet >= 2) return used;
    } else {
      quiet = 0;
      if (!said) log(`waiting for a quiet machine (others use ${used.toFixed(2)} cores; up to ${maxSeconds} s)`);
      said = true;
    }
  }
  log('machine still busy; measuring anyway');
  return -1;
}

/** The processes of a process group (a child spawned `detached` leads its own: npm, its shell, the server). */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) pids.push(Number(d)); // field 5, pgrp
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** CPU seconds of several processes together (null if any is gone). */
export function cpuSecondsOf(pids: readonly number[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    if (s === null) return null;
    sum += s;
  }
  return sum;
}

/**
 * CPU seconds of the main threads alone (the thread whose id is the pid: a Node process's
 * event loop), summed over `pids`. Beside the whole process's, it tells whether the event
 * loop is the limit (one core each) or the work waits on something else.
 */
export function mainThreadCpuSecondsOf(pids: readonly number[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return null;
    }
  }
  return sum;
}

/** VmRSS of several processes together, KiB (null if any is gone). */
export function rssKbOf(pids: readonly number[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const kb = rssKb(pid);
    if (kb === null) return null;
    sum += kb;
  }
  return sum;
}
