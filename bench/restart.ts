// `npm run bench:restart [-- --runs 5 --baseline /path/to/other/checkout]`: what
// test/timing/restart.test.ts times, with figures. Each run starts `npm start --silent` of an
// already-built checkout and waits until /healthz answers, as the test does; it prints the wall
// time and the CPU the start-up took (npm, its shell and the server, all threads: less
// sensitive to a busy machine than the wall time). With --baseline, the two checkouts (each
// built once, by its own first start) run interleaved, A,B,A,B.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { argOf, ROOT } from './lib/argv.js';
import { cpuSecondsOf, freePort, groupPids } from './lib/proc.js';

const runs = Number(argOf('runs', 5));
const baseline = argOf('baseline', '');
const checkouts = [...(baseline ? [{ label: 'baseline', root: path.resolve(baseline) }] : []), { label: 'this', root: ROOT }].map((c) => ({
  ...c,
  dataDir: path.join(mkdtempSync(path.join(tmpdir(), 'parley-restart-bench-')), 'data'),
  wallMs: [] as number[],
  cpuMs: [] as number[],
}));

async function restart(c: (typeof checkouts)[number]): Promise<{ wallMs: number; cpuMs: number }> {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: c.dataDir, DATABASE_URL: '', REDIS_URL: '', JWT_SECRET: '' };
  const began = Date.now();
  const child = spawn('npm', ['start', '--silent'], { cwd: c.root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((r) => child.on('exit', r));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${c.label} exited early: ${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50)); // the test's polling step
  }
  const wallMs = Date.now() - began;
  const cpuMs = Math.round((cpuSecondsOf(groupPids(child.pid!)) ?? NaN) * 1000);
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
  return { wallMs, cpuMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const c of checkouts) await restart(c); // builds if its sources changed, creates its database
for (let i = 0; i < runs; i++) {
  for (const c of checkouts) {
    const r = await restart(c);
    c.wallMs.push(r.wallMs);
    c.cpuMs.push(r.cpuMs);
  }
}
for (const c of checkouts) {
  console.log(`${c.label.padEnd(8)} wall ms median ${median(c.wallMs)} (${c.wallMs.join(' ')})  cpu ms median ${median(c.cpuMs)} (${c.cpuMs.join(' ')})  ${c.root}`);
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
