import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { TestSocket, sleep } from '../helpers/clients.js';
import WebSocket from 'ws';
import { adminUrl, hasPostgres, postgresUrl } from '../helpers/pg.js';

const root = path.resolve(import.meta.dirname, '../..');
const running: ChildProcess[] = [];
afterAll(() => running.forEach((p) => p.pid && tryKill(-p.pid, 'SIGKILL')));

function tryKill(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a command in its own process group and waits until /healthz answers. */
async function start(cmd: string, args: string[], env: Record<string, string>, cwd = root) {
  const port = await freePort();
  const child = spawn(cmd, args, { cwd, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited early (${child.exitCode}): ${output}`);
    try {
      if ((await fetch(url + '/healthz')).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`did not start: ${output}`);
    await sleep(200);
  }
  return { child, url, exited, output: () => output, stop: () => tryKill(-child.pid!, 'SIGTERM') };
}

async function register(url: string, email: string) {
  const res = await fetch(url + '/api/auth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'password-1', name: 'E2E' }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('npm start on the embedded defaults', () => {
  it('creates ./data, keeps a 0600 secret across restarts, serves, and shuts down with 1001 on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-start-'));
    const dataDir = path.join(dir, 'data');
    const first = await start('npm', ['start', '--silent'], { DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' });
    expect(existsSync(path.join(dataDir, 'parley.db'))).toBe(true);
    const secretFile = path.join(dataDir, 'jwt-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8');
    const reg = await register(first.url, 'e2e@example.com');
    expect(reg.status).toBe(201);

    const sock = new TestSocket(new WebSocket(`${first.url.replace('http', 'ws')}/api/chat/ws?token=${reg.body.access_token}`));
    await sock.opened;
    sock.send({ type: 'ping' });
    await sock.next('pong'); // registered: authentication finished
    first.stop();
    expect((await sock.closed).code).toBe(1001);
    // npm itself takes the group's SIGTERM (exit null); the server behind it closed cleanly above.
    expect([0, null]).toContain(await first.exited);

    // Same data dir: same secret, so the token issued before the restart still works.
    const second = await start('node', ['dist/main.js'], { DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' });
    expect(readFileSync(secretFile, 'utf8')).toBe(secret);
    const me = await fetch(second.url + '/api/auth/me', { headers: { authorization: `Bearer ${reg.body.access_token}` } });
    expect(me.status).toBe(200);
    second.stop();
    expect(await second.exited).toBe(0);
  }, 180_000);

  it('accepts DATABASE_URL as sqlite:./relative.db and sqlite:///absolute.db', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-url-'));
    const rel = await start('node', [path.join(root, 'dist/main.js')], { DATA_DIR: path.join(dir, 'd1'), DATABASE_URL: 'sqlite:./rel.db' }, dir);
    expect(existsSync(path.join(dir, 'rel.db'))).toBe(true);
    rel.stop();
    await rel.exited;
    const abs = await start('node', ['dist/main.js'], { DATA_DIR: path.join(dir, 'd2'), DATABASE_URL: `sqlite://${path.join(dir, 'abs.db')}` });
    expect(existsSync(path.join(dir, 'abs.db'))).toBe(true);
    abs.stop();
    await abs.exited;
  }, 120_000);
});

describe.skipIf(!hasPostgres)('several processes starting on one empty PostgreSQL database', () => {
  it('migrate once, under the lock, and both serve', async () => {
    const base = postgresUrl()!;
    const name = `parley_e2e_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: adminUrl(base) });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const u = new URL(base);
      u.pathname = '/' + name;
      const env = { DATABASE_URL: u.toString(), JWT_SECRET: 'shared-secret-for-both-processes-123' };
      const dir = mkdtempSync(path.join(tmpdir(), 'parley-pg-'));
      const [a, b] = await Promise.all([
        start('node', ['dist/main.js'], { ...env, DATA_DIR: path.join(dir, 'a') }),
        start('node', ['dist/main.js'], { ...env, DATA_DIR: path.join(dir, 'b') }),
      ]);
      const reg = await register(a.url, 'pg-e2e@example.com');
      expect(reg.status).toBe(201);
      // The other process knows the user and trusts the token (shared JWT_SECRET).
      const me = await fetch(b.url + '/api/auth/me', { headers: { authorization: `Bearer ${reg.body.access_token}` } });
      expect(me.status).toBe(200);
      a.stop();
      b.stop();
      await Promise.all([a.exited, b.exited]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }, 180_000);
});
