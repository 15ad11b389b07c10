import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { sleep } from './sleep.js';

// Servers a test or a fault script starts (and kills) on loopback itself: free ports, and a
// redis-server of its own, never the shared one.


/** Every child still running: killed when this process exits however it exits. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** A redis-server of its own without persistence: a restart comes back empty. */
export class OwnRedis {
  #child: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child);
    this.#child = child;
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (e) => reject(new Error(`cannot run redis-server: ${e.message}`)));
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
    failed.catch(() => {});
    let timedOut = false;
    const ready = (async () => {
      while (!out.includes('Ready to accept connections') && !timedOut) await sleep(10);
    })();
    try {
      await Promise.race([ready, failed, sleep(10_000).then(() => Promise.reject(new Error(`redis-server did not start: ${out}`)))]);
    } finally {
      timedOut = true;
    }
  }

  /** SIGKILL: Redis crashes, every connection drops. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
