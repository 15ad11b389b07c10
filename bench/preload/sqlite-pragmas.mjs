// What-if experiments only (never for the figures of record): changes the PRAGMAs of
// Parley's SQLite connection without touching src/. BENCH_SQLITE_PRAGMAS is a list like
// "synchronous=NORMAL;temp_store=MEMORY": a pragma Parley sets itself (synchronous) gets the
// given value instead; the others are applied right after Parley's first pragma call.
//   BENCH_SQLITE_PRAGMAS="temp_store=MEMORY" npm run bench -- --servers parley \
//     --node-args "--import ./bench/preload/sqlite-pragmas.mjs"
// (better-sqlite3 is CommonJS: patching the prototype here patches the instance dist/ loads.)
import { createRequire } from 'node:module';

const wanted = new Map(
  (process.env.BENCH_SQLITE_PRAGMAS ?? '')
    .split(';')
    .map((p) => p.split('=').map((s) => s.trim()))
    .filter(([k, v]) => k && v)
    .map(([k, v]) => [k.toLowerCase(), v]),
);
if (wanted.size > 0) {
  const Database = createRequire(`${process.cwd()}/package.json`)('better-sqlite3');
  const pragma = Database.prototype.pragma;
  const done = new WeakSet();
  Database.prototype.pragma = function (source, options) {
    const m = /^\s*(\w+)\s*=/.exec(source);
    if (m && wanted.has(m[1].toLowerCase())) source = `${m[1]} = ${wanted.get(m[1].toLowerCase())}`;
    if (!done.has(this)) {
      done.add(this);
      for (const [k, v] of wanted) if (k !== 'synchronous') pragma.call(this, `${k} = ${v}`);
    }
    return pragma.call(this, source, options);
  };
  process.stderr.write(`[bench preload] SQLite pragmas: ${[...wanted].map(([k, v]) => `${k}=${v}`).join(', ')}\n`);
}
