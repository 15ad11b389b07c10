#!/usr/bin/env node
// On-CPU breakdown of a Parley process from `perf record -g` (all threads, kernel included),
// the complement of the V8 .cpuprofile: that one samples the main thread's wall time
// (blocked fsyncs included), this one only the time a CPU actually ran Parley.
// Each sample goes to the first of SYSTEM whose pattern matches any frame of its stack; else to
// the category of its innermost JS frame; else to the first of GENERIC matching from the leaf.
//
//   node --perf-basic-prof (via: npm run bench -- --servers parley --node-args "--perf-basic-prof")
//   perf record -F 499 -g -p <parley pid> -o perf.data -- sleep 8
//   perf script -i perf.data | node bench/perf-summary.mjs
import { createInterface } from 'node:readline';

// Matched against any frame of the stack, in this order.
const SYSTEM = [
  ['GC (V8 heap)', /v8::internal::(Heap|Scavenger|MarkCompact|ConcurrentMarking|MinorMarkCompact|Sweeper|MemoryAllocator|IncrementalMarking)|ScavengeJob/],
  ['JSON.stringify', /JsonStringifier/],
  ['JSON.parse', /JsonParser/],
  ['SQLite: fsync / fdatasync (CPU part)', /fdatasync|__x64_sys_fsync|\bfsync\b/],
  ['SQLite: file writes (WAL pwrite)', /__libc_pwrite|pwrite64/],
  ['SQLite: file reads (pread)', /__libc_pread|pread64/],
  ['SQLite: engine (better_sqlite3.node)', /better_sqlite3\.node/],
  ['socket write (writev: libuv + kernel TCP)', /StreamBase::Writev|StreamBase::WriteString|uv__write|uv_try_write|__x64_sys_writev|tcp_sendmsg/],
  ['socket read (libuv + kernel TCP)', /uv__read|tcp_recvmsg|OnUvRead/],
  ['epoll / event loop', /epoll_wait|uv__io_poll/],
];
// The innermost JS frame (from --perf-basic-prof symbols "JS:*name file:line").
const JS = [
  ['JS: ws (framing, receive)', /node_modules\/ws\//],
  ['JS: kysely', /node_modules\/kysely\//],
  ['JS: typebox', /node_modules\/@sinclair\//],
  ['JS: uuid', /node_modules\/uuid\//],
  ['JS: parley store (sql-store, sql/, sqlite-store)', /dist\/backends\/store\//],
  ['JS: parley render + handlers (dialects/chat)', /dist\/dialects\/chat\//],
  ['JS: parley frame dispatch (dialects/shared)', /dist\/dialects\/shared\//],
  ['JS: parley hub/connection (delivery)', /dist\/delivery\//],
  ['JS: parley core', /dist\/core\//],
  ['JS: parley other', /dist\//],
  ['JS: node internals (streams, net, events)', /node:/],
  ['JS: other', /./],
];
// Last resort, from the leaf.
const GENERIC = [
  ['V8 builtins / runtime (no JS caller)', /Builtins_|v8::/],
  ['node C++ (other)', /node::|\/node\)/],
  ['libc (malloc, memcpy, …)', /libc\.so/],
  ['kernel (other)', /kernel/],
];

function classify(stack) {
  for (const [c, re] of SYSTEM) if (stack.some((f) => re.test(f))) return c;
  const js = stack.find((f) => f.includes('JS:'));
  if (js) for (const [c, re] of JS) if (re.test(js)) return c;
  for (const f of stack) for (const [c, re] of GENERIC) if (re.test(f)) return c;
  return 'unknown';
}

let stack = [];
const counts = new Map();
let total = 0;
function flush() {
  if (stack.length === 0) return;
  total++;
  const cat = classify(stack);
  counts.set(cat, (counts.get(cat) ?? 0) + 1);
  stack = [];
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return flush();
  if (/^\S/.test(line)) {
    flush(); // a sample header: "node 1234 123.456: 2004008 cpu-clock:"
    return;
  }
  // "\t    7f12 sqlite3VdbeExec+0x12 (/path/better_sqlite3.node)"
  const m = /^\s*[0-9a-f]+\s+(.*)$/.exec(line);
  if (m) stack.push(m[1]);
});
rl.on('close', () => {
  flush();
  console.log(`# on-CPU samples: ${total} (all threads, kernel included); see the header of bench/perf-summary.mjs for the attribution`);
  for (const [c, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${c}`);
});
