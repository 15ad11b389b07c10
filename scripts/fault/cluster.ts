import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, freePorts, OwnRedis, track } from '../../test/helpers/local-servers.js';

export { freePort, freePorts, OwnRedis };

// The pieces a fault run starts and kills: a scratch PostgreSQL database, a redis-server of
// its own (never the shared one: it is killed and restarted), and Parley processes.

/** The repository root (scripts/fault/../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}

/** A database of this run's own on the PostgreSQL server `serverUrl` names; `drop()` removes it. */
export class ScratchDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly adminUrl: string,
  ) {}

  static async create(serverUrl: string): Promise<ScratchDatabase> {
    const name = `parley_fault_${randomBytes(5).toString('hex')}`;
    const adminUrl = withDatabase(serverUrl, 'postgres');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return new ScratchDatabase(name, withDatabase(serverUrl, name), adminUrl);
  }

  async drop(): Promise<void> {
    const admin = new pg.Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}

export interface ParleyProcessOptions {
  index: number;
  port: number;
  dataDir: string;
  logFile: string;
  env: Record<string, string>;
  /** Node options before the entry point (e.g. the soak's --expose-gc and its preload). */
  nodeArgs?: string[];
}

/**
 * One Parley server process (`node --import tsx src/main.ts`), its output appended to
 * `logFile`. `start()` resolves once /readyz answers.
 */
export class ParleyProcess {
  #child: ChildProcess | null = null;
  #log: WriteStream;
  /** Start, kill and exit times (ms since the epoch), for the report. */
  readonly history: { what: 'start' | 'ready' | 'kill' | 'exit'; at: number; detail?: string }[] = [];

  constructor(readonly opts: ParleyProcessOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.#log = createWriteStream(opts.logFile, { flags: 'a' });
  }

  get index() {
    return this.opts.index;
  }
  get port() {
    return this.opts.port;
  }
  get url() {
    return `http://127.0.0.1:${this.opts.port}`;
  }
  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const child = spawn(process.execPath, [...(this.opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...this.opts.env,
        PORT: String(this.opts.port),
        HOST: '127.0.0.1',
        DATA_DIR: this.opts.dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child);
    this.#child = child;
    this.history.push({ what: 'start', at: Date.now() });
    this.#log.write(`\n=== start ${new Date().toISOString()} pid ${child.pid} ===\n`);
    child.stdout!.pipe(this.#log, { end: false });
    child.stderr!.pipe(this.#log, { end: false });
    child.once('exit', (code, signal) => {
      this.history.push({ what: 'exit', at: Date.now(), detail: signal ?? String(code) });
      this.#log.write(`\n=== exit ${new Date().toISOString()} code ${code} signal ${signal} ===\n`);
    });
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`parley process ${this.index} (port ${this.port}) exited during start-up; see ${this.opts.logFile}:\n${this.tail(20)}`);
      }
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until) throw new Error(`parley process ${this.index} (port ${this.port}) not ready within ${timeoutMs} ms:\n${this.tail(20)}`);
      await sleep(50);
    }
    this.history.push({ what: 'ready', at: Date.now() });
  }

  /** SIGKILL, and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.history.push({ what: 'kill', at: Date.now() });
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the process freezes where it is (mid-commit, holding its locks and sockets). */
  pause(): void {
    if (!this.running) return;
    this.history.push({ what: 'kill', at: Date.now(), detail: 'SIGSTOP' });
    this.#child!.kill('SIGSTOP');
  }

  /** Any other signal (the soak's SIGUSR2: a full GC through its preload). */
  signal(name: NodeJS.Signals): void {
    if (this.running) this.#child!.kill(name);
  }

  /** SIGCONT after `pause()`. */
  resume(): void {
    if (!this.running) return;
    this.#child!.kill('SIGCONT');
  }

  /** SIGTERM (graceful drain), SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async closeLog(): Promise<void> {
    await new Promise<void>((r) => this.#log.end(() => r()));
  }

  /** The last `lines` lines of the log. */
  tail(lines: number): string {
    try {
      return readFileSync(this.opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Log lines at pino level error (50) or above, plus anything that is not pino JSON. */
  problems(): string[] {
    let text = '';
    try {
      text = readFileSync(this.opts.logFile, 'utf8');
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim() || line.startsWith('=== ')) continue;
      try {
        const j = JSON.parse(line) as { level?: number };
        if ((j.level ?? 0) >= 50) out.push(line);
      } catch {
        out.push(line);
      }
    }
    return out;
  }
}
