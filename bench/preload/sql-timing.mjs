// Diagnostic preload for Parley's process: times every better-sqlite3 call (statement
// all/get/run, db.exec) by SQL text, counts rows per multi-row INSERT (the group-commit batch
// size), and writes a table to $BENCH_SQL_TIMING_FILE (or stderr) when the process exits.
// Only the calls made after `BENCH_SQL_TIMING_FROM_MS` ms are counted (skip setup).
//
//   BENCH_SQL_TIMING_FILE=/tmp/sql.txt npm run bench -- --servers parley \
//     --node-args "--import ./bench/preload/sql-timing.mjs"
// The timers add ~1 µs per call; do not quote throughput from such a run.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const Database = createRequire(`${process.cwd()}/package.json`)('better-sqlite3');
const stats = new Map(); // key -> { n, ms, max }
const batch = new Map(); // rows per INSERT INTO messages -> count
const t0 = performance.now();
const from = Number(process.env.BENCH_SQL_TIMING_FROM_MS ?? 0);

const keyOf = (sql) =>
  sql
    .replace(/\s+/g, ' ')
    .replace(/\((?:\s*\?\s*,)+\s*\?\s*\)/g, '(?…)') // (?, ?, ?) lists
    .replace(/(?:\(\?…\)\s*,\s*)+\(\?…\)/g, '(?…), …') // VALUES (…), (…), …
    .replace(/(?:\(\?…, 0\)\s*,\s*)*\(\?…, 0\)/g, '(?…, 0), …')
    .slice(0, 110);

function time(key, fn) {
  const a = performance.now();
  try {
    return fn();
  } finally {
    const b = performance.now();
    if (a - t0 >= from) {
      let s = stats.get(key);
      if (!s) stats.set(key, (s = { n: 0, ms: 0, max: 0 }));
      s.n++;
      s.ms += b - a;
      if (b - a > s.max) s.max = b - a;
    }
  }
}

const exec = Database.prototype.exec;
Database.prototype.exec = function (sql) {
  return time(`exec ${keyOf(sql)}`, () => exec.call(this, sql));
};
const prepare = Database.prototype.prepare;
let patched = false;
Database.prototype.prepare = function (sql) {
  const st = prepare.call(this, sql);
  if (!patched) {
    patched = true;
    const proto = Object.getPrototypeOf(st);
    for (const m of ['all', 'get', 'run']) {
      const orig = proto[m];
      proto[m] = function (...args) {
        const src = this.source;
        if (src.startsWith('INSERT INTO messages') && performance.now() - t0 >= from) {
          const rows = (src.match(/\(\?, \?, \?, \?, \?, \?, \?, \?, \?, \?, 0\)/g) ?? []).length;
          batch.set(rows, (batch.get(rows) ?? 0) + 1);
        }
        return time(`${m} ${keyOf(src)}`, () => orig.apply(this, args));
      };
    }
  }
  return st;
};

process.on('exit', () => {
  const total = [...stats.values()].reduce((s, x) => s + x.ms, 0);
  const lines = [`# better-sqlite3 calls after ${from} ms: ${total.toFixed(0)} ms in total`, 'ms_total    calls   us_avg   ms_max  share  sql'];
  for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) {
    lines.push(
      `${s.ms.toFixed(1).padStart(8)} ${String(s.n).padStart(8)} ${((1000 * s.ms) / s.n).toFixed(1).padStart(8)} ${s.max.toFixed(2).padStart(8)} ${((100 * s.ms) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
  }
  const sizes = [...batch].sort((a, b) => a[0] - b[0]);
  const inserts = sizes.reduce((s, [, n]) => s + n, 0);
  const rows = sizes.reduce((s, [r, n]) => s + r * n, 0);
  lines.push(`# INSERT INTO messages: ${inserts} statements, ${rows} rows, ${(rows / Math.max(1, inserts)).toFixed(1)} rows per batch on average`);
  lines.push(`# batch sizes (rows: count): ${sizes.map(([r, n]) => `${r}:${n}`).join(' ')}`);
  const out = lines.join('\n') + '\n';
  if (process.env.BENCH_SQL_TIMING_FILE) writeFileSync(process.env.BENCH_SQL_TIMING_FILE, out);
  else process.stderr.write(out);
});
