import { existsSync, mkdtempSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startCommand as start } from '../helpers/started-command.js';
import { TestSocket } from '../helpers/clients.js';
import WebSocket from 'ws';
import { adminUrl, hasPostgres, postgresUrl } from '../helpers/pg.js';

const root = path.resolve(import.meta.dirname, '../..');

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

  it('names a PostgreSQL database without its password, and a secret from the environment', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-banner-'));
    const { shownDatabase } = await import('../../src/app/start-banner.js');
    expect(shownDatabase('postgres://parley:hunter2-secret@db.example:5432/chat')).toBe('PostgreSQL, postgres://parley:***@db.example:5432/chat');
    const server = await start('node', ['dist/main.js'], { DATA_DIR: dir, DATABASE_URL: '', JWT_SECRET: 'a-secret-of-at-least-32-bytes-for-this-test', REGISTRATION: 'invite' });
    await expect.poll(() => server.output()).toMatch(/registration  invite: only with an invite/);
    expect(server.output()).toContain('secret        JWT_SECRET from the environment');
    expect(server.output()).not.toContain('a-secret-of-at-least-32-bytes');
    server.stop();
    await server.exited;
  }, 60_000);

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
