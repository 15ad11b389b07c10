import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll } from 'vitest';
import { freePort } from './local-servers.js';

// A server command (npm start, node dist/main.js) started as an operator would, in its own
// process group, waited for until /healthz answers; every group still running is killed after
// the file's tests.

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

/** Starts a command in its own process group and waits until /healthz answers. */
export async function startCommand(cmd: string, args: string[], env: Record<string, string>, cwd = root) {
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
    await new Promise((r) => setTimeout(r, 50)); // fine-grained: restarts are timed with it
  }
  return { child, url, exited, output: () => output, stop: () => tryKill(-child.pid!, 'SIGTERM') };
}

