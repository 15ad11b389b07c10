import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyProcess, ScratchDatabase, freePorts } from '../../scripts/fault/cluster.js';
import { track } from '../helpers/local-servers.js';
import { postgresUrl } from '../helpers/pg.js';
import { eventually } from '../helpers/clients.js';

// deploy/nginx.conf as shipped (ports, paths and certificate swapped), run by Debian's nginx
// as a non-root process with a self-signed certificate, in front of two Parley processes on
// one PostgreSQL database and one Redis. CI installs nginx (.ci/run); without it this fails.

const ROOT = path.resolve(import.meta.dirname, '../..');
const NOBODY = 65534; // nginx runs unprivileged even when the suite runs as root (CI)

/** deploy/nginx.conf with this run's ports and files; each swap must find its line. */
function deployedConfig(opts: { upstreams: number[]; httpPort: number; tlsPort: number; cert: string; key: string }): string {
  let conf = readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8');
  const swap = (pattern: RegExp, replacement: string) => {
    if (!pattern.test(conf)) throw new Error(`deploy/nginx.conf has no line matching ${pattern}`);
    conf = conf.replace(pattern, replacement);
  };
  swap(/server 127\.0\.0\.1:8000\b/, `server 127.0.0.1:${opts.upstreams[0]}`);
  swap(/server 127\.0\.0\.1:8001\b/, `server 127.0.0.1:${opts.upstreams[1]}`);
  swap(/^\s*listen \[::\]:80;\n/m, ''); // the test binds loopback only
  swap(/^\s*listen \[::\]:443 ssl;\n/m, '');
  swap(/listen 80;/, `listen 127.0.0.1:${opts.httpPort};`);
  swap(/listen 443 ssl;/, `listen 127.0.0.1:${opts.tlsPort} ssl;`);
  swap(/ssl_certificate\s+\S+;/, `ssl_certificate ${opts.cert};`);
  swap(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${opts.key};`);
  conf = conf.replaceAll('chat.example.com', 'localhost');
  return conf;
}

/** The client address of every login request a process logged (pino's `req.remote`). */
function loginRemotes(log: string): string[] {
  return log.split('\n').flatMap((line) => {
    try {
      const { req } = JSON.parse(line) as { req?: { url?: string; remote?: string } };
      return req?.url === '/api/auth/login' && req.remote ? [req.remote] : [];
    } catch {
      return [];
    }
  });
}

class Nginx {
  #child: ChildProcess | null = null;
  output = '';
  constructor(readonly dir: string) {}

  async start(conf: string): Promise<void> {
    const d = this.dir;
    writeFileSync(path.join(d, 'parley.conf'), conf);
    writeFileSync(
      path.join(d, 'nginx.conf'),
      [
        'worker_processes 1;',
        `pid ${d}/nginx.pid;`,
        `error_log ${d}/error.log info;`,
        'events { worker_connections 512; }',
        'http {',
        `  access_log ${d}/access.log;`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${d}/${t}_temp;`),
        `  include ${d}/parley.conf;`,
        '}',
      ].join('\n'),
    );
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownTree(d, NOBODY);
    const child = spawn('nginx', ['-p', d, '-c', path.join(d, 'nginx.conf'), '-e', path.join(d, 'error.log'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    track(child);
    this.#child = child;
    child.stdout!.on('data', (b) => (this.output += b));
    child.stderr!.on('data', (b) => (this.output += b));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (e) => reject(new Error(`cannot run nginx (apt-get install nginx): ${e.message}`)));
      child.once('exit', (code) => reject(new Error(`nginx exited (${code}): ${this.output}${this.errorLog()}`)));
    });
    failed.catch(() => {});
    await Promise.race([failed, waitForPid(path.join(d, 'nginx.pid'))]);
  }

  errorLog(): string {
    try {
      return readFileSync(path.join(this.dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM'); // fast: a graceful stop would wait for every open socket
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

function chownTree(dir: string, uid: number): void {
  execFileSync('chown', ['-R', `${uid}:${uid}`, dir]);
}

async function waitForPid(file: string): Promise<void> {
  await eventually(() => expect(readFileSync(file, 'utf8').trim()).toMatch(/^\d+$/), { timeoutMs: 10_000, intervalMs: 20 });
}

/** HTTPS through nginx, trusting only the test's certificate, from a chosen loopback address. */
function request(
  base: { port: number; ca: string },
  method: string,
  urlPath: string,
  opts: { json?: unknown; token?: string; from?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: base.port,
        method,
        path: urlPath,
        ca: base.ca,
        localAddress: opts.from,
        agent: false,
        headers: {
          host: `localhost:${base.port}`,
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: any = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode!, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A socket on `/api/chat/ws` through nginx that reconnects when it is closed, resuming from
 * the highest seq it holds, as docs/delivery.md tells clients to.
 */
class ResumingSocket {
  ws: WebSocket | null = null;
  maxSeq = 0;
  opens = 0;
  #stopped = false;
  #onOpen: (() => void)[] = [];

  constructor(
    private readonly url: (lastSeq: number) => string,
    private readonly ca: string,
    private readonly onFrame: (frame: any) => void,
    /** Called on every open, the first and each reconnection (resend what is unacknowledged). */
    private readonly onOpen: () => void = () => {},
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve) => {
      this.#onOpen.push(resolve);
      this.#open();
    });
  }

  #open(): void {
    if (this.#stopped) return;
    const ws = new WebSocket(this.url(this.maxSeq), { ca: this.ca });
    this.ws = ws;
    ws.on('open', () => {
      this.opens++;
      this.onOpen();
      for (const f of this.#onOpen.splice(0)) f();
    });
    ws.on('message', (d) => {
      const frame = JSON.parse(d.toString());
      if (frame.type === 'new_message' && typeof frame.data?.seq === 'number') this.maxSeq = Math.max(this.maxSeq, frame.data.seq);
      this.onFrame(frame);
    });
    ws.on('error', () => {}); // a refused or cut connection ends in 'close'
    ws.on('close', () => {
      if (this.ws === ws) this.ws = null;
      if (!this.#stopped) setTimeout(() => this.#open(), 100);
    });
  }

  send(frame: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    this.#stopped = true;
    this.ws?.close();
  }
}

describe.skipIf(!postgresUrl())('behind nginx (TLS) in front of two Parley processes on PostgreSQL and Redis', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-nginx-'));
  const nginx = new Nginx(path.join(dir, 'nginx'));
  let db: ScratchDatabase;
  let processes: ParleyProcess[] = [];
  let tls: { port: number; ca: string };

  beforeAll(async () => {
    mkdirSync(nginx.dir, { recursive: true });
    chmodSync(dir, 0o755);
    const [httpPort, tlsPort, p0, p1] = await freePorts(4);
    const cert = path.join(nginx.dir, 'cert.pem');
    const key = path.join(nginx.dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    tls = { port: tlsPort!, ca: readFileSync(cert, 'utf8') };

    db = await ScratchDatabase.create(postgresUrl()!);
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: `parley-nginx-${randomBytes(4).toString('hex')}:`,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      PUBLIC_URL: `https://localhost:${tlsPort}`,
      // As deploy/nginx.conf's header says.
      TRUST_PROXY: '127.0.0.1',
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
      WS_MAX_UNAUTHENTICATED_PER_ADDRESS: '0',
      LOG_LEVEL: 'info',
      // The address throttle is what this test looks at; the rest would only slow the chat.
      RATE_LOGIN_ADDRESS_FAILURES: '3/1m',
      RATE_LOGIN_ACCOUNT_FAILURES: 'off',
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_CONNECTION_FRAMES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      RATE_USER_READS_PER_SECOND: '0',
    };
    processes = [p0!, p1!].map(
      (port, index) => new ParleyProcess({ index, port, dataDir: path.join(dir, `p${index}`), logFile: path.join(dir, `p${index}.log`), env }),
    );
    await Promise.all(processes.map((p) => p.start(90_000)));
    await nginx.start(deployedConfig({ upstreams: [p0!, p1!], httpPort: httpPort!, tlsPort: tlsPort!, cert, key }));
    await eventually(async () => expect((await request(tls, 'GET', '/healthz')).status).toBe(200), { timeoutMs: 10_000, intervalMs: 50 });
  }, 180_000);

  afterAll(async () => {
    // Everything is stopped even when one stop fails: nothing outlives the file.
    await Promise.allSettled([nginx.stop(), ...processes.map((p) => p.stop())]);
    await Promise.all(processes.map((p) => p.closeLog()));
    await db?.drop();
    // KEEP_NGINX_TEST_DIR=1 keeps the processes' and nginx's logs for a look.
    if (process.env.KEEP_NGINX_TEST_DIR) console.log(`logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('rate limits and logs see the client address behind nginx, not nginx, and not a forged X-Forwarded-For', async () => {
    const login = (from: string, n: number, headers: Record<string, string> = {}) =>
      request(tls, 'POST', '/api/auth/login', { from, headers, json: { email: `nobody-${n}-${from}@example.com`, password: 'wrong-password' } });
    // Three failures from 127.0.0.2 (the address limit is 3), over both processes (Redis).
    for (let n = 0; n < 3; n++) expect((await login('127.0.0.2', n)).status).toBe(401);
    expect((await login('127.0.0.2', 3)).status).toBe(429);
    // Another client is not throttled for it, also when it claims to be 127.0.0.2...
    expect((await login('127.0.0.3', 0, { 'x-forwarded-for': '127.0.0.2' })).status).toBe(401);
    expect((await login('127.0.0.3', 1)).status).toBe(401);
    // ...and a client cannot escape its own throttle by claiming another address.
    expect((await login('127.0.0.2', 4, { 'x-forwarded-for': '198.51.100.7' })).status).toBe(429);

    // The request logs of both processes name the client's address; none names nginx's.
    await eventually(() => {
      const remotes = processes.flatMap((p) => loginRemotes(readFileSync(p.opts.logFile, 'utf8')));
      expect(remotes.length).toBeGreaterThanOrEqual(7);
      expect(new Set(remotes)).toEqual(new Set(['127.0.0.2', '127.0.0.3']));
    });
  });

  it('as an invariant (fast-check): behind nginx a client is throttled on its own failures alone, whatever X-Forwarded-For it sends', async () => {
    let run = 0;
    const step = fc.record({ client: fc.integer({ min: 0, max: 3 }), forges: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        // Addresses of this run's own (all of 127/8 is loopback), so runs share no bucket.
        run++;
        const address = (k: number) => `127.1.${run}.${k + 1}`;
        const failures = new Map<number, number>(); // the model: failed logins per real address
        for (const [i, { client, forges }] of steps.entries()) {
          const headers: Record<string, string> = forges === undefined ? {} : { 'x-forwarded-for': address(forges) };
          const res = await request(tls, 'POST', '/api/auth/login', { from: address(client), headers, json: { email: `p${run}-${i}@example.com`, password: 'wrong-password' } });
          const seen = failures.get(client) ?? 0;
          // RATE_LOGIN_ADDRESS_FAILURES=3/1m: three free, then refused (a run lasts well under the minute).
          expect(res.status, `step ${i}: client ${client}, forged ${forges}, ${seen} failures before`).toBe(seen < 3 ? 401 : 429);
          if (res.status === 401) failures.set(client, seen + 1);
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);

  it('a chat over TLS loses and doubles nothing while each process in turn is restarted under its sockets', async () => {
    const register = async (name: string) => {
      const res = await request(tls, 'POST', '/api/auth/register', { json: { email: `${name}-${randomBytes(4).toString('hex')}@example.com`, password: 'password-1', name } });
      expect(res.status).toBe(201);
      return { token: res.body.access_token as string, id: res.body.user.id as number };
    };
    const [alice, bob] = [await register('Alice'), await register('Bob')];
    const roomRes = await request(tls, 'POST', '/api/chat/rooms', { token: alice.token, json: { receiver_id: bob.id } });
    expect(roomRes.status).toBe(200);
    const room = roomRes.body.id as number;
    const wsUrl = (token: string) => (lastSeq: number) =>
      `wss://localhost:${tls.port}/api/chat/ws?token=${token}&room_id=${room}${lastSeq ? `&last_seq=${lastSeq}` : ''}`;

    // Alice sends with local_temp_ids; Bob counts what arrives.
    const pending = new Map<string, number>(); // local_temp_id → first sent at
    const frameOf = (id: string) => ({ type: 'send_message', data: { room_id: room, content: id, local_temp_id: id } });
    const acked = new Set<string>();
    const received = new Map<string, number>(); // content → times received
    const seqs = new Map<number, number>();
    // Alice resends what is unacknowledged on each reconnection, as the SDK does (a send the
    // server took before it went away is answered with the stored message, not stored again).
    const alicePlays: ResumingSocket = new ResumingSocket(
      wsUrl(alice.token),
      tls.ca,
      (f) => {
        if (f.type === 'new_message' && pending.delete(f.data.local_temp_id)) acked.add(f.data.local_temp_id);
      },
      () => pending.forEach((_, id) => alicePlays.send(frameOf(id))),
    );
    const bobListens = new ResumingSocket(wsUrl(bob.token), tls.ca, (f) => {
      if (f.type !== 'new_message' || f.data.room_id !== room) return;
      received.set(f.data.content, (received.get(f.data.content) ?? 0) + 1);
      seqs.set(f.data.seq, (seqs.get(f.data.seq) ?? 0) + 1);
    });
    await Promise.all([alicePlays.connect(), bobListens.connect()]);
    let n = 0;
    const pump = setInterval(() => {
      const id = `m${n++}`;
      pending.set(id, Date.now());
      alicePlays.send(frameOf(id));
    }, 20);

    try {
      await eventually(() => expect(acked.size).toBeGreaterThan(50), { timeoutMs: 20_000, intervalMs: 20 });
      // A rolling restart: whichever process holds each socket is restarted once.
      for (const p of processes) {
        await p.stop();
        await p.start(90_000);
        const before = acked.size;
        await eventually(() => expect(acked.size).toBeGreaterThan(before + 50), { timeoutMs: 30_000, intervalMs: 20 });
      }
    } finally {
      clearInterval(pump);
    }
    // Everything sent is acknowledged, and Bob has it all.
    const sent = n;
    await eventually(() => expect(acked.size).toBe(sent), { timeoutMs: 30_000, intervalMs: 50 });
    await eventually(() => expect(received.size).toBe(sent), { timeoutMs: 30_000, intervalMs: 50 });
    const lost = [...acked].filter((id) => !received.has(id)).length;
    const dup = [...received.values()].filter((c) => c > 1).length + [...seqs.values()].filter((c) => c > 1).length;
    console.log(
      `through nginx (TLS), rolling restart of 2 processes: sent ${sent}, acknowledged ${acked.size}, received ${received.size}, ` +
        `lost ${lost}, dup ${dup}; socket opens: sender ${alicePlays.opens}, receiver ${bobListens.opens}`,
    );
    alicePlays.close();
    bobListens.close();
    expect(lost).toBe(0);
    expect(dup).toBe(0);
    expect([...seqs.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: sent }, (_, i) => i + 1)); // gapless, once each
    // Each socket was cut by a restart and came back through nginx.
    expect(alicePlays.opens).toBeGreaterThanOrEqual(2);
    expect(bobListens.opens).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
