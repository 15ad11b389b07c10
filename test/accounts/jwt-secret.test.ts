import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, track } from '../helpers/local-servers.js';
import { sleep } from '../helpers/clients.js';

// Issue 14 item 13: an HS256 key shorter than the hash (32 bytes) can be guessed offline from
// any token Parley hands out; Parley refuses to start with one, saying why.

const root = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs `parley serve` until it exits or answers /healthz (which a refused start never does). */
async function serve(jwtSecret: string): Promise<{ exitCode: number | null; listened: boolean; output: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-jwt-'));
  dirs.push(dir);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', JWT_SECRET: jwtSecret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const until = Date.now() + 60_000;
  while (!done && Date.now() < until) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) {
        child.kill('SIGKILL');
        await exited;
        return { exitCode: null, listened: true, output };
      }
    } catch {
      /* not listening (yet) */
    }
    await sleep(100);
  }
  if (!done) child.kill('SIGKILL');
  return { exitCode: await exited, listened: false, output };
}

describe('JWT_SECRET length', () => {
  it('a JWT_SECRET shorter than 32 bytes: the server refuses to start, naming the setting, and never listens', { timeout: 90_000 }, async () => {
    const r = await serve('short-secret-31-bytes-long-abcd');
    expect(r.listened, r.output).toBe(false);
    expect(r.exitCode, r.output).toBe(1);
    expect(r.output).toMatch(/JWT_SECRET is 31 bytes; it must be at least 32/);
    // The message, not a stack trace.
    expect(r.output).not.toMatch(/\n\s+at /);
  });

  it('32 bytes are enough', { timeout: 90_000 }, async () => {
    const r = await serve('a-secret-of-exactly-32-bytes-abc');
    expect(r.listened, r.output).toBe(true);
  });
});
